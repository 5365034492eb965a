// Train: a YAML training config that runs on the server, with live loss and LR charts.
import type { CodeCell } from '../../../../core/src/notebook.ts'
import type { CellKindModule } from '../kind.ts'
import TrainCell from './TrainCell.svelte'
import { TrainCellState } from './train-cell.svelte.ts'

export const train: CellKindModule<CodeCell, TrainCellState> = {
  open: (cell, context) => new TrainCellState(cell, context),
  view: TrainCell,
}
