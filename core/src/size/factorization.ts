// LyCORIS's own splits of a layer width (lycoris/functional/general.py), so the
// sizes here are the sizes LyCORIS builds: LoKr's Kronecker factors, OFT's
// blocks, BOFT's butterfly blocks. Read from LyCORIS 4.1.3, checked against it
// by test/core/size.test.ts through the golden adapter sizes.

/** dimension = m x n with m <= n, m as close to `factor` as divisors allow (the most balanced split for -1). */
export function factorization(dimension: number, factor = -1): [number, number] {
  if (factor > 0 && dimension % factor === 0) {
    const other = dimension / factor
    return factor > other ? [other, factor] : [factor, other]
  }
  const limit = factor < 0 ? dimension : factor
  let [m, n] = [1, dimension]
  const length = m + n
  while (m < n) {
    let next = m + 1
    while (dimension % next !== 0) next++
    const other = dimension / next
    // LyCORIS compares with the starting 1 + dimension, not the running sum.
    if (next + other > length || next > limit) break
    ;[m, n] = [next, other]
  }
  return m > n ? [n, m] : [m, n]
}

/** BOFT's split: dimension = b x n with b even, b <= factor, and n a power of two; undefined when there is none. */
export function power2factorization(dimension: number, factor = -1): [number, number] | undefined {
  const limit = factor === -1 ? dimension : factor
  let m = 0
  let n = 0
  while (m <= limit) {
    m += 2
    while (dimension % m !== 0 && m < dimension) m += 2
    if (m > limit) break
    const quotient = Math.floor(dimension / m)
    if (popcount(quotient) === 1) n = quotient
  }
  return n === 0 ? undefined : [Math.floor(dimension / n), n]
}

/** Set bits of x: BOFT stacks popcount(n - 1) + 1 butterfly factors. */
export const popcount = (x: number) => x.toString(2).split('').filter((bit) => bit === '1').length
