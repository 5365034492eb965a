// The rest of a run's charts, derived from its events: LR per param group,
// the effective LR of adaptive optimizers, gradient norm, evaluator scores,
// the samples filmstrip, and the final numbers a summary or comparison shows.
import type { RunEvent, SampleEvent, StepEvent } from '../protocol.ts'
import { lossSeries, smoothingFor, smoothSeries, type Point } from './loss.ts'

/** A named line of a chart. */
export interface Line {
  label: string
  points: Point[]
}

/** The trainer's param groups, in the order step events list their LRs (trainer/train.py builds them so). */
const GROUPS = ['unet', 'text encoder']
const groupLabel = (i: number) => GROUPS[i] ?? `group ${i + 1}`

const stepsOf = (events: readonly RunEvent[]): StepEvent[] => events.filter((e): e is StepEvent => e.type === 'step')

/** One line per param group from a per-group field of step events (`lrs` or `effective_lrs`). */
function perGroup(events: readonly RunEvent[], field: 'lrs' | 'effective_lrs', prefix: string): Line[] {
  const lines: Line[] = []
  for (const e of stepsOf(events)) {
    e[field]?.forEach((value, i) => {
      lines[i] ??= { label: `${prefix}${groupLabel(i)}`, points: [] }
      lines[i].points.push({ step: e.step, value })
    })
  }
  return lines.filter(Boolean)
}

/** The scheduled LR of each param group (unet, text encoder). */
export const lrGroupSeries = (events: readonly RunEvent[]): Line[] => perGroup(events, 'lrs', '')

/** What adaptive optimizers actually stepped with (Prodigy's d × lr, Adafactor's relative step), per group; empty for the others. */
export const effectiveLrSeries = (events: readonly RunEvent[]): Line[] => perGroup(events, 'effective_lrs', 'effective, ')

export const gradNormSeries = (events: readonly RunEvent[]): Point[] =>
  stepsOf(events).flatMap((e) => (e.grad_norm === undefined ? [] : [{ step: e.step, value: e.grad_norm }]))

/** Evaluator scores by step: fidelity (the new concept learned) and retention (the base concepts kept), both 0 to 1. */
export function evalSeries(events: readonly RunEvent[]): { fidelity: Point[]; retention: Point[] } {
  const fidelity: Point[] = []
  const retention: Point[] = []
  for (const e of events) {
    if (e.type !== 'eval') continue
    fidelity.push({ step: e.step, value: e.fidelity })
    if (e.retention !== undefined) retention.push({ step: e.step, value: e.retention })
  }
  return { fidelity, retention }
}

export interface SampleImage {
  /** File name inside the run's samples/ folder. */
  name: string
  prompt: string
  seed: number
}
export interface SampleFrame {
  step: number
  images: SampleImage[]
}

/**
 * The filmstrip: one frame per `sample` event. Files outside samples/ are
 * dropped: the server serves nothing else of a run folder as an image.
 */
export const sampleFrames = (events: readonly RunEvent[]): SampleFrame[] =>
  events
    .filter((e): e is SampleEvent => e.type === 'sample')
    .map((e) => ({
      step: e.step,
      images: e.images.flatMap(({ file, prompt, seed }) => {
        const name = /^samples\/([\w.-]+)$/.exec(file)?.[1]
        return name && !name.startsWith('.') ? [{ name, prompt, seed }] : []
      }),
    }))

export interface FinalMetrics {
  steps: number
  seconds: number
  trainableParams?: number
  /** The smoothed loss at the last step (the raw last loss is one noisy batch). */
  finalLoss?: number
  fidelity?: number
  retention?: number
}

/** What a run ended with (or has reached so far). */
export function finalMetrics(events: readonly RunEvent[]): FinalMetrics {
  const loss = lossSeries(events)
  const smooth = smoothSeries(loss, smoothingFor(loss.length))
  const metrics: FinalMetrics = { steps: 0, seconds: 0, finalLoss: smooth.at(-1)?.value }
  for (const e of events) {
    if (e.type === 'started') metrics.trainableParams = e.trainable_params
    else if (e.type === 'step' || e.type === 'finished') (metrics.steps = e.step), (metrics.seconds = e.seconds)
    else if (e.type === 'eval') (metrics.fidelity = e.fidelity), (metrics.retention = e.retention)
  }
  return metrics
}
