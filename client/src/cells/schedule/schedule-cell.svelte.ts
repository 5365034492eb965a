// A schedule cell: its YAML and the LR curves it describes, recomputed on
// every keystroke in the browser (core/src/schedules equals the trainer).
// While the text has an error the last good curves stay, marked stale.
import type { CodeCell } from '../../../../core/src/notebook.ts'
import { parseScheduleCell, type SchedulePreview } from '../../../../core/src/series/index.ts'
import { seriesColor, type ChartLine, type ChartMarker } from '../../charts/frame.ts'
import type { CellState } from '../kind.ts'

export class ScheduleCellState implements CellState {
  readonly id: string
  source = $state('')

  #result = $derived(parseScheduleCell(this.source))
  issues = $derived(this.#result.ok ? [] : this.#result.issues)
  warnings = $derived(this.#result.ok ? this.#result.warnings : [])
  #lastGood: SchedulePreview | undefined
  preview = $derived.by(() => (this.#result.ok ? (this.#lastGood = this.#result.preview) : this.#lastGood))
  stale = $derived(!this.#result.ok)

  multipliers = $derived(this.#lines((p) => p.multiplier))
  lrs = $derived(this.#lines((p) => p.lr))
  /** Warmup ends, restarts, rule switches and decays of every schedule, each step and label once. */
  markers = $derived.by((): ChartMarker[] => {
    const seen = new Set<string>()
    return (this.preview?.schedules ?? []).flatMap((s) => s.markers).filter((m) => !seen.has(`${m.step}|${m.label}`) && seen.add(`${m.step}|${m.label}`))
  })

  constructor(cell: CodeCell) {
    this.id = cell.id
    this.source = cell.source
  }

  #lines(value: (p: SchedulePreview['schedules'][number]['points'][number]) => number): ChartLine[] {
    return (this.preview?.schedules ?? []).map((s, i) => ({
      label: s.label,
      color: seriesColor(i),
      points: s.points.map((p) => ({ step: p.step, value: value(p) })),
    }))
  }
}
