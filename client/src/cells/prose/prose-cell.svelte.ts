// A prose cell: Markdown shown rendered, switched to a Markdown editor on
// double-click or Edit (not in a read-only lesson), back on Esc or blur.
import { Marked } from 'marked'
import type { ProseCell } from '../../../../core/src/notebook.ts'
import type { CellContext, CellState } from '../kind.ts'
import { notebookLinks } from './links.ts'
import { math } from './math.ts'

export class ProseState implements CellState {
  source = $state('')
  editing = $state(false)
  readonly editable: boolean
  // Lessons ship with the app and notebooks are the user's own files, so the HTML is trusted.
  readonly #markdown: Marked
  html = $derived.by(() => this.#markdown.parse(this.source, { async: false }))

  constructor(cell: ProseCell, context: CellContext) {
    this.source = cell.source
    this.editable = !context.readonly
    this.#markdown = new Marked(math, notebookLinks(context.notebook))
  }

  edit() {
    if (this.editable) this.editing = true
  }
}
