// Size: trainable parameters and adapter file size of a method on SDXL, SD1.5 and shapes-xl, computed as you type.
import type { CodeCell } from '../../../../core/src/notebook.ts'
import type { CellKindModule } from '../kind.ts'
import SizeCell from './SizeCell.svelte'
import { SizeCellState } from './size-cell.svelte.ts'

export const size: CellKindModule<CodeCell, SizeCellState> = {
  open: (cell) => new SizeCellState(cell),
  view: SizeCell,
}
