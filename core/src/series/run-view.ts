// Everything the workbench draws of one run, folded from its events one batch
// at a time. A run of 100k steps receives one step per message, so the fold
// appends the per-step series (loss, LR, gradient norm) in place:
// re-deriving them from all events, or even copying them, costs O(n) per
// message, and copies of arrays that large go to the garbage collector's
// large-object space, whose collections made long runs stutter. Each fold
// returns a new view object, so reactive readers of the view see the change.
// The few-point series (scores, sample frames) are copied when they grow, so
// a reader that compares them by identity sees that too.
import { statusAfter, type RunEvent, type RunStatus, type SampleEvent } from '../protocol.ts'
import type { Point } from './loss.ts'

/** A named line of a chart. */
export interface Line {
  label: string
  points: Point[]
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

/** Lifecycle events whose latest one the UI shows. */
type Landmark = 'queued' | 'started' | 'finished' | 'failed' | 'interrupted'
type EventOf<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>

export interface RunView {
  status: RunStatus
  /** Last completed optimizer step (0 before the first). */
  step: number
  /** Steps the run will take; undefined until the trainer says. */
  total?: number
  /** Seconds of training so far (trainer clock). */
  seconds: number
  trainableParams?: number
  /** The latest (step, seconds) pairs, for the speed over a recent window. */
  recent: readonly { step: number; seconds: number }[]
  loss: Point[]
  /** The scheduled LR each step's update was made with. */
  lr: Point[]
  /** The scheduled LR of each param group (unet, text encoder). */
  lrGroups: Line[]
  /** What adaptive optimizers actually stepped with (Prodigy's d × lr, Adafactor's relative step), per group. */
  effectiveLrs: Line[]
  gradNorm: Point[]
  /** Evaluator scores by step: fidelity (the new concept learned) and retention (the base concepts kept), 0 to 1. */
  fidelity: Point[]
  retention: Point[]
  samples: SampleFrame[]
  last: { [T in Landmark]?: EventOf<T> }
}

/** Steps over which the speed is measured: recent enough to follow a change, long enough to be steady. */
export const SPEED_WINDOW = 20

/** The view of a run before its first event; a fresh one each time, as folds grow its arrays. */
export const emptyView = (): RunView => ({
  status: 'queued',
  step: 0,
  seconds: 0,
  recent: [],
  loss: [],
  lr: [],
  lrGroups: [],
  effectiveLrs: [],
  gradNorm: [],
  fidelity: [],
  retention: [],
  samples: [],
  last: {},
})

/** The trainer's param groups when its started event does not name them (runs recorded before it did). */
const GROUPS = ['unet', 'text_encoder']
const groupLabel = (i: number, names?: string[]) => (names?.[i] ?? GROUPS[i] ?? `group ${i + 1}`).replaceAll('_', ' ')

/** `view` with `events` appended: a new object; per-step series grown in place, the few-point ones copied. */
export function foldEvents(view: RunView, events: readonly RunEvent[]): RunView {
  if (!events.length) return view
  const next = { ...view, last: { ...view.last } }
  for (const e of events) {
    next.status = statusAfter(next.status, e)
    switch (e.type) {
      case 'queued':
      case 'failed':
      case 'interrupted':
        next.last[e.type] = e as never
        break
      case 'started':
        next.last.started = e
        next.total = e.total
        next.trainableParams = e.trainable_params
        break
      case 'step':
        next.total = e.total
        next.step = e.step
        next.seconds = e.seconds
        next.recent = [...next.recent.slice(-SPEED_WINDOW), { step: e.step, seconds: e.seconds }]
        next.loss.push({ step: e.step, value: e.loss })
        next.lr.push({ step: e.step, value: e.lr })
        if (e.grad_norm !== undefined) next.gradNorm.push({ step: e.step, value: e.grad_norm })
        e.lrs?.forEach((value, i) => lineOf(next.lrGroups, i, '', next.last.started?.lr_groups).points.push({ step: e.step, value }))
        e.effective_lrs?.forEach((value, i) => lineOf(next.effectiveLrs, i, 'effective, ', next.last.started?.lr_groups).points.push({ step: e.step, value }))
        break
      case 'finished':
        next.last.finished = e
        next.step = e.step
        next.seconds = e.seconds
        break
      case 'eval':
        next.fidelity = [...next.fidelity, { step: e.step, value: e.fidelity }]
        if (e.retention !== undefined) next.retention = [...next.retention, { step: e.step, value: e.retention }]
        break
      case 'sample':
        next.samples = [...next.samples, sampleFrame(e)]
        break
    }
  }
  return next
}

/** The view of a whole event list. */
export const viewOf = (events: readonly RunEvent[]): RunView => foldEvents(emptyView(), events)

/**
 * Lines with the same points as one, named by all of theirs ("unet = embeddings"): param groups
 * at one LR would otherwise be drawn on top of each other, the first hidden under the second.
 */
export function mergeTwins(lines: readonly Line[]): Line[] {
  const merged: Line[] = []
  for (const line of lines) {
    const i = merged.findIndex((m) => samePoints(m.points, line.points))
    if (i < 0) merged.push(line)
    else merged[i] = { label: `${merged[i].label} = ${line.label}`, points: merged[i].points }
  }
  return merged
}

const samePoints = (a: readonly Point[], b: readonly Point[]) => a.length === b.length && a.every((p, i) => p.step === b[i].step && p.value === b[i].value)

/** The line of param group `group`, added when its first point comes. */
const lineOf = (lines: Line[], group: number, prefix: string, names?: string[]): Line => (lines[group] ??= { label: `${prefix}${groupLabel(group, names)}`, points: [] })

/**
 * A filmstrip frame of a `sample` event. Files outside samples/ are
 * dropped: the server serves nothing else of a run folder as an image.
 */
function sampleFrame(e: SampleEvent): SampleFrame {
  return {
    step: e.step,
    images: e.images.flatMap(({ file, prompt, seed }) => {
      const name = /^samples\/([\w.-]+)$/.exec(file)?.[1]
      return name && !name.startsWith('.') ? [{ name, prompt, seed }] : []
    }),
  }
}
