// One function per scheduler: the LR multiplier of optimizer step `s` (0-based),
// written as the library the trainer calls computes it, operation for operation,
// so the preview equals the trainer (test/core/schedules.test.ts, golden vectors).
import type { SchedulerName } from '../config/schema.ts'

/** A schedule's parameters, resolved: the scheduler section with `warmup` in steps, plus the run's length and base LR. */
export interface Curve {
  total: number
  warmup: number
  lr: number
  num_cycles: number
  power: number
  lr_end: number
  rules: string
  min_lr_ratio: number
  decay: number
  decay_type: 'linear' | 'cosine' | '1-sqrt'
  timescale: number | null
  gamma: number
}

type Multiplier = (s: number, c: Curve) => number

// diffusers' and transformers' warmup: a line from 0, reaching 1 when warmup ends.
const ramp = (s: number, c: Curve) => s / Math.max(1, c.warmup)
const progress = (s: number, c: Curve) => (s - c.warmup) / Math.max(1, c.total - c.warmup)
const halfCosine = (p: number, cycles = 0.5) => 0.5 * (1.0 + Math.cos(Math.PI * cycles * 2.0 * p))

const constant: Multiplier = () => 1

const constantWithWarmup: Multiplier = (s, c) => (s < c.warmup ? ramp(s, c) : 1)

const linear: Multiplier = (s, c) => (s < c.warmup ? ramp(s, c) : Math.max(0, (c.total - s) / Math.max(1, c.total - c.warmup)))

const cosine: Multiplier = (s, c) => (s < c.warmup ? ramp(s, c) : Math.max(0, halfCosine(progress(s, c))))

const cosineWithRestarts: Multiplier = (s, c) => {
  if (s < c.warmup) return ramp(s, c)
  const p = progress(s, c)
  return p >= 1 ? 0 : Math.max(0, 0.5 * (1.0 + Math.cos(Math.PI * ((c.num_cycles * p) % 1.0))))
}

// diffusers divides by optimizer.lr, and LambdaLR multiplies it back.
const polynomial: Multiplier = (s, c) => {
  if (s < c.warmup) return ramp(s, c)
  if (s > c.total) return c.lr_end / c.lr
  const remaining = 1 - (s - c.warmup) / (c.total - c.warmup)
  return ((c.lr - c.lr_end) * remaining ** c.power + c.lr_end) / c.lr
}

/** diffusers' step_rules: "1:10,0.1:20,0.01" is 1 before step 10, 0.1 before step 20, then 0.01. */
export function parseRules(rules: string): { until: number; value: number }[] {
  const parts = rules.split(',')
  const steps = parts.slice(0, -1).map((rule) => {
    const [value, until] = rule.split(':')
    return { until: Number.parseInt(until, 10), value: Number(value) }
  })
  return [...steps.sort((a, b) => a.until - b.until), { until: Infinity, value: Number(parts[parts.length - 1]) }]
}

const piecewiseConstant: Multiplier = (s, c) => parseRules(c.rules).find((rule) => s < rule.until)!.value

const cosineWithMinLr: Multiplier = (s, c) => {
  if (s < c.warmup) return ramp(s, c)
  return Math.max(0, halfCosine(progress(s, c)) * (1 - c.min_lr_ratio) + c.min_lr_ratio)
}

const warmupStableDecay: Multiplier = (s, c) => {
  const floor = c.min_lr_ratio
  if (s < c.warmup) return Math.max(0.0, ramp(s, c) * (1.0 - floor) + floor)
  const stable = c.total - c.warmup - c.decay
  if (s < c.warmup + stable) return 1.0
  if (s < c.warmup + stable + c.decay) {
    const p = (s - c.warmup - stable) / Math.max(1, c.decay)
    const factor = c.decay_type === 'linear' ? 1.0 - p : c.decay_type === 'cosine' ? halfCosine(p) : 1.0 - Math.sqrt(p)
    return Math.max(0.0, factor * (1.0 - floor) + floor)
  }
  return floor
}

const inverseSqrt: Multiplier = (s, c) => {
  const timescale = c.timescale ?? (c.warmup || 10_000)
  if (s < c.warmup) return ramp(s, c)
  return 1.0 / Math.sqrt((s + (timescale - c.warmup)) / timescale)
}

// pytorch-optimizer's REXScheduler with max_lr 1 and min_lr min_lr_ratio.
const rex: Multiplier = (s, c) => {
  if (s >= c.total) return c.min_lr_ratio
  const p = s / c.total
  return c.min_lr_ratio + (1.0 - c.min_lr_ratio) * ((1.0 - p) / (1.0 - p / 2.0))
}

/** Steps per cycle of cosine_with_restarts_decay: the run split into num_cycles cycles, the last possibly cut short. */
export const cycleLength = (c: Pick<Curve, 'total' | 'num_cycles'>) => Math.ceil(c.total / c.num_cycles)

// pytorch-optimizer's CosineAnnealingWarmupRestarts with max_lr 1, min_lr min_lr_ratio, cycle_mult 1.
const cosineWithRestartsDecay: Multiplier = (s, c) => {
  const length = cycleLength(c)
  const inCycle = s % length
  const peak = 1.0 * c.gamma ** Math.floor(s / length)
  const base = c.min_lr_ratio
  if (inCycle < c.warmup) return ((peak - base) * inCycle) / c.warmup + base
  return base + ((peak - base) * (1 + Math.cos((Math.PI * (inCycle - c.warmup)) / (length - c.warmup)))) / 2.0
}

export const CURVES: Record<SchedulerName, Multiplier> = {
  constant,
  constant_with_warmup: constantWithWarmup,
  linear,
  cosine,
  cosine_with_restarts: cosineWithRestarts,
  polynomial,
  piecewise_constant: piecewiseConstant,
  cosine_with_min_lr: cosineWithMinLr,
  warmup_stable_decay: warmupStableDecay,
  inverse_sqrt: inverseSqrt,
  rex,
  cosine_with_restarts_decay: cosineWithRestartsDecay,
}
