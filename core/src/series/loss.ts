// Chart series derived from a run's events: pure data, no DOM. Chart
// components draw exactly what these return ("derive, then draw").
import type { RunEvent, StepEvent } from '../protocol.ts'

export interface Point {
  step: number
  value: number
}

const stepsOf = (events: readonly RunEvent[]): StepEvent[] =>
  events.filter((e): e is StepEvent => e.type === 'step')

/** Raw loss per optimizer step. */
export const lossSeries = (events: readonly RunEvent[]): Point[] =>
  stepsOf(events).map((e) => ({ step: e.step, value: e.loss }))

/** The learning rate each step's update was made with. */
export const lrSeries = (events: readonly RunEvent[]): Point[] =>
  stepsOf(events).map((e) => ({ step: e.step, value: e.lr }))

/**
 * Exponential moving average with bias correction (as TensorBoard smooths
 * scalars): without the correction the first points would be pulled toward 0.
 * weight 0 returns the series unchanged; closer to 1 is smoother.
 */
export function smoothSeries(points: readonly Point[], weight: number): Point[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`)
  let average = 0
  let norm = 0
  return points.map(({ step, value }) => {
    average = weight * average + (1 - weight) * value
    norm = weight * norm + (1 - weight)
    return { step, value: average / norm }
  })
}

/**
 * A smoothing weight that suits the run's length: a short run keeps its
 * shape, a long one is smoothed over roughly a twentieth of its steps.
 */
export const smoothingFor = (total: number): number => Math.min(0.98, Math.max(0.6, 1 - 20 / Math.max(total, 1)))
