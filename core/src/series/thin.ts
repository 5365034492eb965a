// Thinning: a series of any length reduced to what a chart of a given pixel
// width can show. Each pixel column (bucket of steps) keeps its lowest and its
// highest point, in step order, so a one-step loss spike stays visible however
// long the run; a plain every-nth-point sample would drop it.
import type { Point } from './loss.ts'

/**
 * Min/max-per-bucket decimation of a series sorted by step. `buckets` is the
 * chart's width in pixels; the result has at most 2 × buckets + 2 points (the
 * first and last points are always kept, so the line spans the same steps).
 * A series that already fits is returned as it is.
 */
export function thin(points: readonly Point[], buckets: number): readonly Point[] {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`thin: buckets must be a positive integer (the chart's width in pixels), got ${buckets}`)
  if (points.length <= 2 * buckets + 2) return points
  const first = points[0].step
  const span = points[points.length - 1].step - first || 1
  const out: Point[] = [points[0]]
  let bucket = -1
  let low: Point | undefined
  let high: Point | undefined
  const flush = () => {
    if (!low || !high) return
    if (low === high) out.push(low)
    else if (low.step < high.step) out.push(low, high)
    else out.push(high, low)
  }
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i]
    const b = Math.min(buckets - 1, Math.floor(((p.step - first) / span) * buckets))
    if (b !== bucket) {
      flush()
      bucket = b
      low = high = p
    } else if (p.value < low!.value) low = p
    else if (p.value > high!.value) high = p
  }
  flush()
  out.push(points[points.length - 1])
  return out
}
