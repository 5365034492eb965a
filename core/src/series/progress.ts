// How far a run is and how fast it goes, derived from its events.
import type { RunView } from './run-view.ts'

export interface Progress {
  /** Last completed optimizer step (0 before the first). */
  step: number
  /** Steps the run will take; undefined until the trainer says. */
  total?: number
  /** Fraction done in [0, 1]. */
  fraction: number
  /** Optimizer steps per second over the recent window; undefined until two steps are known. */
  itPerSec?: number
  /** Seconds of training left at the current speed; undefined when unknown. */
  etaSeconds?: number
  /** Seconds of training so far (trainer clock). */
  seconds: number
}

/** Where a run is, from its folded events. */
export function progressOf({ step, total, seconds, recent }: RunView): Progress {
  const first = recent[0]
  const last = recent[recent.length - 1]
  const dt = last && first ? last.seconds - first.seconds : 0
  const itPerSec = recent.length >= 2 && dt > 0 ? (last.step - first.step) / dt : undefined
  const left = total !== undefined ? Math.max(total - step, 0) : undefined
  return {
    step,
    total,
    fraction: total ? Math.min(step / total, 1) : 0,
    itPerSec,
    etaSeconds: left === 0 ? 0 : left !== undefined && itPerSec ? left / itPerSec : undefined,
    seconds,
  }
}

/** "42s", "3m 05s", "1h 02m": a duration as a person reads it. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  const pad = (n: number) => String(n).padStart(2, '0')
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`
}
