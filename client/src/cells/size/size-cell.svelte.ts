// A size cell: its YAML and the adapter sizes it describes, recomputed on every
// keystroke from shipped layer shapes (core/src/size equals LyCORIS's modules).
// While the text has an error the last good sizes stay, marked stale.
import type { CodeCell } from '../../../../core/src/notebook.ts'
import { parseSizeCell, type SizePreview } from '../../../../core/src/size/cell.ts'
import type { AdapterSize } from '../../../../core/src/size/index.ts'
import { breakdown, rankLines } from '../../../../core/src/size/report.ts'
import type { CellState } from '../kind.ts'

export class SizeCellState implements CellState {
  readonly id: string
  source = $state('')

  #result = $derived(parseSizeCell(this.source))
  issues = $derived(this.#result.issues)
  #lastGood: SizePreview | undefined
  preview = $derived.by(() => (this.#result.ok ? (this.#lastGood = this.#result.preview) : this.#lastGood))
  stale = $derived(!this.#result.ok)

  /** The architectures that could be computed (a block size may not fit one). */
  sizes = $derived((this.preview?.results ?? []).flatMap((r): AdapterSize[] => (r.ok ? [r.size] : [])))
  bars = $derived(this.preview ? this.sizes.map((size) => ({ size, bars: breakdown(size, this.preview!.precision) })) : [])
  ranks = $derived(this.preview ? rankLines(this.preview.architectures, this.preview.method, this.preview.precision) : [])

  constructor(cell: CodeCell) {
    this.id = cell.id
    this.source = cell.source
  }
}
