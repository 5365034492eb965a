// LR schedule previews: the multiplier and absolute LR of every optimizer step,
// equal to what the trainer applies (trainer/schedulers.py). No DOM, no Node APIs.
import type { TrainConfig } from '../config/schema.ts'
import { CURVES, cycleLength, parseRules, type Curve } from './curves.ts'

export { optimizerSteps, type StepCount } from './steps.ts'
export { CURVES, type Curve } from './curves.ts'

type SchedulerConfig = TrainConfig['scheduler']

/** A step count, or a ratio in (0, 1) of the run, read as sd-scripts reads lr_warmup_steps: int(ratio × total). */
export const stepsOrRatio = (value: number, total: number) => (value < 1 ? Math.trunc(value * total) : Math.trunc(value))

export function curve(scheduler: SchedulerConfig, lr: number, total: number): Curve {
  return {
    ...scheduler,
    total,
    lr,
    warmup: stepsOrRatio(scheduler.warmup_steps, total),
    decay: stepsOrRatio(scheduler.decay_steps, total),
  }
}

export interface SchedulePoint {
  /** 1-based optimizer step, as `step` events number them. */
  step: number
  multiplier: number
  /** The LR that step's update uses: lr × multiplier. */
  lr: number
}

/** Every optimizer step of the run with the LR its update uses. */
export function schedule(scheduler: SchedulerConfig, lr: number, total: number): SchedulePoint[] {
  const c = curve(scheduler, lr, total)
  const multiplier = CURVES[scheduler.name]
  return Array.from({ length: total }, (_, s) => {
    const m = multiplier(s, c)
    return { step: s + 1, multiplier: m, lr: lr * m }
  })
}

export interface Marker {
  /** 1-based optimizer step at which the event takes effect. */
  step: number
  label: string
}

/** Where warmup ends, cycles restart, rules switch and the decay begins: points to mark on a preview. */
export function markers(scheduler: SchedulerConfig, total: number): Marker[] {
  const c = curve(scheduler, 1, total)
  const out: Marker[] = c.warmup > 0 ? [{ step: c.warmup + 1, label: 'warmup ends' }] : []
  const restartsAt = (starts: number[]) => starts.filter((s) => s < total).map((s) => ({ step: s + 1, label: 'restart' }))
  switch (scheduler.name) {
    case 'cosine_with_restarts': {
      const span = Math.max(1, total - c.warmup)
      const starts = Array.from({ length: c.num_cycles - 1 }, (_, i) => c.warmup + Math.ceil(((i + 1) * span) / c.num_cycles))
      return [...out, ...restartsAt(starts)]
    }
    case 'cosine_with_restarts_decay': {
      const length = cycleLength(c)
      return [...out, ...restartsAt(Array.from({ length: c.num_cycles - 1 }, (_, i) => (i + 1) * length))]
    }
    case 'piecewise_constant':
      return parseRules(c.rules)
        .filter((rule) => rule.until < total)
        .map((rule) => ({ step: rule.until + 1, label: 'next rule' }))
    case 'warmup_stable_decay':
      return [...out, { step: total - c.decay + 1, label: 'decay starts' }]
    default:
      return out
  }
}
