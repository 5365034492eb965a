// Prose: Markdown between the runnable cells, rendered once when the notebook opens.
import { Marked } from 'marked'
import type { ProseCell as ProseCellData } from '../../../../core/src/notebook.ts'
import type { CellKindModule, CellState } from '../kind.ts'
import { math } from './math.ts'
import ProseCell from './ProseCell.svelte'

const markdown = new Marked(math)

export interface ProseState extends CellState {
  html: string
}

export const prose: CellKindModule<ProseCellData, ProseState> = {
  // Lessons ship with the app and notebooks are the user's own files, so the HTML is trusted.
  open: (cell) => ({ html: markdown.parse(cell.source, { async: false }) }),
  view: ProseCell,
}
