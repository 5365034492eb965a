// A cell kind is one module: how to open a cell of that kind into live state,
// and the view that draws it. Kinds are listed in ./registry.ts and nowhere else.
import type { Component } from 'svelte'
import type { Cell } from '../../../core/src/notebook.ts'
import type { RunStatus } from '../../../core/src/protocol.ts'
import type { Connection } from '../state/connection.svelte.ts'

/** What a cell may use of the notebook it sits in. */
export interface CellContext {
  /** The notebook's path, e.g. "lessons/welcome.md"; runs are filed under it. */
  notebook: string
  connection: Connection
  /** A lesson: its cells may be edited and run to experiment, but nothing is saved. */
  readonly: boolean
  /** The latest run this page shows for one of the notebook's train cells (reactive). */
  latestRun(cell: string): LatestRun | undefined
}

export interface LatestRun {
  id: string
  status: RunStatus
}

/** A cell's live state; dispose() lets go of server subscriptions when the notebook closes or the cell is deleted. */
export interface CellState {
  /** The cell's current text (Markdown or YAML body): what the notebook saves. A state without it saves the text it opened with. */
  readonly source?: string
  /** A train cell's latest run on this page: compare cells reload when one ends. */
  readonly latestRun?: LatestRun
  dispose?(): void
}

export interface CellKindModule<C extends Cell, S extends CellState> {
  open(cell: C, context: CellContext): S
  view: Component<{ state: S }>
}
