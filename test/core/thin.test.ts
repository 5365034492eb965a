import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { thin, Thinner, type Point } from '../../core/src/series/index.ts'

const series = (values: number[]): Point[] => values.map((value, i) => ({ step: i + 1, value }))

describe('thin', () => {
  it('returns a series that already fits unchanged', () => {
    const points = series([3, 1, 2])
    expect(thin(points, 10)).toBe(points)
  })

  it('reduces 100k points to at most two per pixel, plus the ends', () => {
    const points = series(Array.from({ length: 100_000 }, (_, i) => Math.sin(i / 100)))
    const out = thin(points, 600)
    expect(out.length).toBeLessThanOrEqual(2 * 600 + 2)
    expect(out[0]).toBe(points[0])
    expect(out.at(-1)).toBe(points.at(-1))
  })

  it('keeps a one-step spike and a one-step dip visible', () => {
    const values = Array.from({ length: 50_000 }, () => 1)
    values[12_345] = 40
    values[33_333] = -7
    const out = thin(series(values), 300)
    expect(Math.max(...out.map((p) => p.value))).toBe(40)
    expect(Math.min(...out.map((p) => p.value))).toBe(-7)
  })

  it('keeps every bucket extreme, in step order, drawn from the input', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 3000 }), fc.integer({ min: 1, max: 200 }), (values, width) => {
        const points = series(values)
        const out = thin(points, width)
        expect(out.length).toBeLessThanOrEqual(Math.max(points.length, 2 * width + 2))
        for (let i = 1; i < out.length; i++) expect(out[i].step).toBeGreaterThan(out[i - 1].step)
        for (const p of out) expect(p).toBe(points[p.step - 1])
        expect(Math.max(...out.map((p) => p.value))).toBe(Math.max(...values))
        expect(Math.min(...out.map((p) => p.value))).toBe(Math.min(...values))
      }),
    )
  })

  it('thins a growing series incrementally, equal to thinning it whole', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 2000 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 300 }), (values, width, chunk) => {
        const all = series(values)
        const domain = [0, values.length + 50] as const
        const grown: Point[] = []
        const thinner = new Thinner()
        for (let i = 0; i < all.length; i += chunk) {
          grown.push(...all.slice(i, i + chunk)) // in place, as a run's loss grows
          expect(thinner.thin(grown, width, domain)).toEqual(thin(grown.slice(), width, domain))
        }
      }),
    )
  })

  it('rejects a width that is not a positive whole number of pixels', () => {
    expect(() => thin([], 0)).toThrow(/positive integer/)
    expect(() => thin([], 10.5)).toThrow(RangeError)
  })
})
