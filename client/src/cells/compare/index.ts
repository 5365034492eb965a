// Compare: the latest runs of named train cells, overlaid, with their configs and final metrics side by side.
import type { CodeCell } from '../../../../core/src/notebook.ts'
import type { CellKindModule } from '../kind.ts'
import CompareCell from './CompareCell.svelte'
import { CompareCellState } from './compare-cell.svelte.ts'

export const compare: CellKindModule<CodeCell, CompareCellState> = {
  open: (cell, context) => new CompareCellState(cell, context),
  view: CompareCell,
}
