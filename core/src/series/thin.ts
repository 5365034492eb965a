// Thinning: a series of any length reduced to what a chart of a given pixel
// width can show. Each pixel column (bucket of steps) keeps its lowest and its
// highest point, in step order, so a one-step loss spike stays visible however
// long the run; a plain every-nth-point sample would drop it.
import type { Point } from './loss.ts'

/**
 * Min/max-per-bucket decimation of a series sorted by step. `buckets` is the
 * chart's width in pixels; `domain` the steps the x axis spans (default: the
 * series' own first to last step). The result has at most 2 × buckets + 2
 * points (the first and last points are always kept, so the line spans the
 * same steps). A series that already fits is returned as it is.
 */
export function thin(points: readonly Point[], buckets: number, domain?: readonly [number, number]): readonly Point[] {
  return new Thinner().thin(points, buckets, domain)
}

/**
 * thin() for a series that grows while its chart stays the same size: with a
 * fixed domain (a run's x axis spans all its steps from the start) a pixel
 * column's points never move to another column, so the columns already
 * passed are kept and only the new points are bucketed: O(new points) per
 * redraw instead of O(all points).
 */
export class Thinner {
  #source: readonly Point[] = []
  #done = 0
  #key = ''
  /** The first point and the extremes of every column before the current one. */
  #closed: Point[] = []
  #bucket = -1
  #low?: Point
  #high?: Point

  thin(points: readonly Point[], buckets: number, domain?: readonly [number, number]): readonly Point[] {
    if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`thin: buckets must be a positive integer (the chart's width in pixels), got ${buckets}`)
    if (points.length <= 2 * buckets + 2) return points
    const [lo, hi] = domain ?? [points[0].step, points[points.length - 1].step]
    const key = `${buckets}:${lo}:${hi}`
    const done = this.#done
    const extending = key === this.#key && points[0] === this.#source[0] && done <= points.length && points[done - 1] === this.#source[done - 1]
    if (!extending) {
      this.#closed = [points[0]]
      this.#bucket = -1
      this.#low = this.#high = undefined
    }
    const scale = buckets / (hi - lo || 1)
    for (let i = extending ? done : 1; i < points.length; i++) {
      const p = points[i]
      const b = Math.max(0, Math.min(buckets - 1, Math.floor((p.step - lo) * scale)))
      if (b !== this.#bucket) {
        this.#closed.push(...this.#open())
        this.#bucket = b
        this.#low = this.#high = p
      } else if (p.value < this.#low!.value) this.#low = p
      else if (p.value > this.#high!.value) this.#high = p
    }
    this.#source = points
    this.#done = points.length
    this.#key = key
    const out = this.#closed.concat(this.#open())
    const last = points[points.length - 1]
    if (out[out.length - 1] !== last) out.push(last)
    return out
  }

  /** The current column's extremes, in step order. */
  #open(): Point[] {
    const low = this.#low
    const high = this.#high
    if (!low || !high) return []
    if (low === high) return [low]
    return low.step < high.step ? [low, high] : [high, low]
  }
}
