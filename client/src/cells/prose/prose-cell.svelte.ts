// A prose cell: Markdown shown rendered, switched to a Markdown editor on
// double-click or Edit (not in a read-only lesson), back on Esc or blur.
import { Marked } from 'marked'
import type { ProseCell } from '../../../../core/src/notebook.ts'
import type { CellContext, CellState } from '../kind.ts'
import { math } from './math.ts'

const markdown = new Marked(math)

export class ProseState implements CellState {
  source = $state('')
  editing = $state(false)
  readonly editable: boolean
  // Lessons ship with the app and notebooks are the user's own files, so the HTML is trusted.
  html = $derived(markdown.parse(this.source, { async: false }))

  constructor(cell: ProseCell, context: CellContext) {
    this.source = cell.source
    this.editable = !context.readonly
  }

  edit() {
    if (this.editable) this.editing = true
  }
}
