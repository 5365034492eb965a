// The loss line and its smoothing: pure data, no DOM.

export interface Point {
  step: number
  value: number
}

/**
 * Exponential moving average with bias correction (as TensorBoard smooths
 * scalars): without the correction the first points would be pulled toward 0.
 * weight 0 returns the series unchanged; closer to 1 is smoother.
 */
export function smoothSeries(points: readonly Point[], weight: number): Point[] {
  return new Smoother().smooth(points, weight)
}

/**
 * smoothSeries for a series that grows (in place or by copy): when the points
 * extend the ones smoothed last time, only the new ones are averaged in, and
 * appended to the same output array, so a streaming 100k-step loss costs
 * O(new points) per update. Another series or weight starts a new output.
 */
export class Smoother {
  #source: readonly Point[] = []
  #done = 0
  #out: Point[] = []
  #weight = NaN
  #average = 0
  #norm = 0

  smooth(points: readonly Point[], weight: number): Point[] {
    if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`)
    const done = this.#done
    const extending = weight === this.#weight && points.length >= done && (done === 0 || points[done - 1] === this.#source[done - 1])
    if (!extending) {
      this.#out = []
      this.#average = this.#norm = 0
      this.#weight = weight
    }
    for (let i = extending ? done : 0; i < points.length; i++) {
      const { step, value } = points[i]
      this.#average = weight * this.#average + (1 - weight) * value
      this.#norm = weight * this.#norm + (1 - weight)
      this.#out.push({ step, value: this.#average / this.#norm })
    }
    this.#source = points
    this.#done = points.length
    return this.#out
  }
}

/**
 * A smoothing weight that suits the run's length: a short run keeps its
 * shape, a long one is smoothed over roughly a twentieth of its steps.
 */
export const smoothingFor = (total: number): number => Math.min(0.98, Math.max(0.6, 1 - 20 / Math.max(total, 1)))
