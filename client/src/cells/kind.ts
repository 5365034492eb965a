// A cell kind is one module: how to open a cell of that kind into live state,
// and the view that draws it. Kinds are listed in ./registry.ts and nowhere else.
import type { Component } from 'svelte'
import type { Cell } from '../../../core/src/notebook.ts'
import type { Connection } from '../state/connection.svelte.ts'

/** What a cell may use of the notebook it sits in. */
export interface CellContext {
  /** The notebook's path, e.g. "lessons/welcome.md"; runs are filed under it. */
  notebook: string
  connection: Connection
}

/** A cell's live state; dispose() lets go of server subscriptions when the notebook closes. */
export interface CellState {
  dispose?(): void
}

export interface CellKindModule<C extends Cell, S extends CellState> {
  open(cell: C, context: CellContext): S
  view: Component<{ state: S }>
}
