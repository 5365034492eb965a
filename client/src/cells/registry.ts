// The cell-kind registry: one entry per kind the notebook format knows. A new
// kind (schedule, compare, size) is a new module under cells/ and one line here;
// the mapped type fails to compile until every kind has its module.
import type { Cell } from '../../../core/src/notebook.ts'
import type { CellContext, CellKindModule, CellState } from './kind.ts'
import { compare } from './compare/index.ts'
import { prose } from './prose/index.ts'
import { schedule } from './schedule/index.ts'
import { size } from './size/index.ts'
import { train } from './train/index.ts'

type Registry = { [K in Cell['kind']]: CellKindModule<Extract<Cell, { kind: K }>, any> }

const CELL_KINDS: Registry = { prose, train, schedule, compare, size }

export interface OpenCell {
  view: CellKindModule<Cell, CellState>['view']
  state: CellState
}

export function openCell(cell: Cell, context: CellContext): OpenCell {
  const kind = CELL_KINDS[cell.kind] as CellKindModule<Cell, CellState>
  return { view: kind.view, state: kind.open(cell, context) }
}
