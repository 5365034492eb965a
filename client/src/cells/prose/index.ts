// Prose: the Markdown between the runnable cells, with KaTeX formulas; editable in the user's own notebooks.
import type { ProseCell as ProseCellData } from '../../../../core/src/notebook.ts'
import type { CellKindModule } from '../kind.ts'
import ProseCell from './ProseCell.svelte'
import { ProseState } from './prose-cell.svelte.ts'

export const prose: CellKindModule<ProseCellData, ProseState> = {
  open: (cell, context) => new ProseState(cell, context),
  view: ProseCell,
}
