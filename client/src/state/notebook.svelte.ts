// An open notebook: its cells, each opened through the cell-kind registry.
import { parseNotebook } from '../../../core/src/notebook.ts'
import type { NotebookFile } from '../api.ts'
import { openCell, type OpenCell } from '../cells/registry.ts'
import type { Connection } from './connection.svelte.ts'

export class NotebookSession {
  readonly path: string
  readonly title: string
  readonly readonly: boolean
  readonly cells: OpenCell[]

  constructor(file: NotebookFile, connection: Connection) {
    this.path = file.path
    this.title = file.title
    this.readonly = file.readonly
    const context = { notebook: file.path, connection }
    this.cells = parseNotebook(file.text).cells.map((cell) => openCell(cell, context))
  }

  dispose() {
    for (const cell of this.cells) cell.state.dispose?.()
  }
}
