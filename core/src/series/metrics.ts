// The final numbers a run's summary or a comparison shows.
import type { Point } from './loss.ts'
import type { RunView } from './run-view.ts'

export interface FinalMetrics {
  steps: number
  seconds: number
  trainableParams?: number
  /** The smoothed loss at the last step (the raw last loss is one noisy batch). */
  finalLoss?: number
  fidelity?: number
  retention?: number
}

/** What a run ended with (or has reached so far); `smoothedLoss` is the loss line as the chart smooths it. */
export function finalMetrics(view: RunView, smoothedLoss: readonly Point[]): FinalMetrics {
  return {
    steps: view.step,
    seconds: view.seconds,
    trainableParams: view.trainableParams,
    finalLoss: smoothedLoss.at(-1)?.value,
    fidelity: view.fidelity.at(-1)?.value,
    retention: view.retention.at(-1)?.value,
  }
}
