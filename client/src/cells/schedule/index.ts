// Schedule: a YAML scheduler (or several, overlaid) drawn as LR curves while you type, with no server call.
import type { CodeCell } from '../../../../core/src/notebook.ts'
import type { CellKindModule } from '../kind.ts'
import ScheduleCell from './ScheduleCell.svelte'
import { ScheduleCellState } from './schedule-cell.svelte.ts'

export const schedule: CellKindModule<CodeCell, ScheduleCellState> = {
  open: (cell) => new ScheduleCellState(cell),
  view: ScheduleCell,
}
