// An open notebook: its front matter and cells (each opened through the
// cell-kind registry), the edits made to them, and the autosave that writes
// a user notebook back to disk ~600 ms after the last change. A lesson can be
// edited in memory to experiment; it is never saved.
import { untrack } from 'svelte'
import { stringify } from 'yaml'
import { parseCellConfig } from '../../../core/src/config/defaults.ts'
import { parseNotebook, serializeNotebook, type Cell } from '../../../core/src/notebook.ts'
import { saveNotebook, type NotebookFile } from '../api.ts'
import { openCell, type OpenCell } from '../cells/registry.ts'
import type { CellContext } from '../cells/kind.ts'
import type { Connection } from './connection.svelte.ts'

const AUTOSAVE_MS = 600
const NEW_TRAIN_CELL = 'method:\n  name: lora\n  rank: 8\ntraining:\n  max_steps: 40\n'

/** What the indicator says: every change is on disk, waits to be written, is being written, or failed to be. */
export type SaveState = 'saved' | 'unsaved' | 'saving' | 'error'

export interface CellEntry extends OpenCell {
  /** Stable across moves, for keyed {#each}. */
  key: number
  /** The cell as it was opened; its kind and id never change. */
  opened: Cell
}

export class NotebookSession {
  readonly path: string
  readonly title: string
  readonly readonly: boolean
  frontMatter = $state('')
  cells = $state.raw<CellEntry[]>([])
  /** The last deleted cell, kept until the next delete so it can be put back. */
  deleted = $state.raw<{ entry: CellEntry; index: number } | undefined>()
  saveState = $state<SaveState>('saved')
  saveError = $state<string | undefined>()
  /** The notebook as Markdown, exactly what a save writes. */
  text = $derived(serializeNotebook({ frontMatter: this.frontMatter, cells: this.cells.map(currentCell) }))

  readonly #context: CellContext
  #nextKey = 0
  /** The text on disk, as far as this session knows. */
  #saved: string
  #timer: ReturnType<typeof setTimeout> | undefined
  #writing: Promise<void> = Promise.resolve()
  #stopAutosave: (() => void) | undefined

  constructor(file: NotebookFile, connection: Connection) {
    this.path = file.path
    this.title = file.title
    this.readonly = file.readonly
    this.#context = {
      notebook: file.path,
      connection,
      readonly: file.readonly,
      latestRun: (id) => this.cells.find((entry) => entry.opened.kind !== 'prose' && entry.opened.id === id)?.state.latestRun,
    }
    const notebook = parseNotebook(file.text)
    this.frontMatter = notebook.frontMatter
    this.cells = notebook.cells.map((cell) => this.#open(cell))
    // Compare against the file as this session would write it, so merely opening a notebook never saves it.
    this.#saved = this.text
    if (!this.readonly) {
      this.#stopAutosave = $effect.root(() => {
        $effect(() => {
          const text = this.text
          untrack(() => this.#changed(text))
        })
      })
    }
  }

  /** A new cell at `index`: an empty text cell, or a train cell with `source` (a starter config by default). */
  add(index: number, kind: 'prose' | 'train', source = NEW_TRAIN_CELL): CellEntry {
    const cell: Cell = kind === 'prose' ? { kind, source: '' } : { kind, id: this.#freeId(kind), source }
    const entry = this.#open(cell)
    if (kind === 'prose') (entry.state as { edit?(): void }).edit?.()
    this.cells = spliced(this.cells, index, 0, entry)
    return entry
  }

  move(index: number, by: -1 | 1) {
    const to = index + by
    if (to < 0 || to >= this.cells.length) return
    const cells = [...this.cells]
    ;[cells[index], cells[to]] = [cells[to], cells[index]]
    this.cells = cells
  }

  remove(index: number) {
    this.deleted?.entry.state.dispose?.()
    this.deleted = { entry: this.cells[index], index }
    this.cells = spliced(this.cells, index, 1)
  }

  undoRemove() {
    if (!this.deleted) return
    const { entry, index } = this.deleted
    this.deleted = undefined
    this.cells = spliced(this.cells, Math.min(index, this.cells.length), 0, entry)
  }

  /** A train cell's config after the schema's and the front matter's defaults, as YAML; or why it has none. */
  resolved(entry: CellEntry): string {
    const result = parseCellConfig(this.frontMatter, currentCell(entry).source)
    return result.ok ? stringify(result.config) : result.issues.map((i) => `# ${i.message}`).join('\n')
  }

  /** Write any pending change now; resolves when the disk has it (or the save failed, see saveState). */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#writing = this.#writing.then(() => this.#write())
    return this.#writing
  }

  dispose() {
    this.#stopAutosave?.()
    if (this.saveState === 'unsaved') void this.flush()
    for (const entry of this.cells) entry.state.dispose?.()
    this.deleted?.entry.state.dispose?.()
  }

  #changed(text: string) {
    clearTimeout(this.#timer)
    if (text === this.#saved) {
      if (this.saveState === 'unsaved') this.saveState = 'saved'
      return
    }
    this.saveState = 'unsaved'
    this.#timer = setTimeout(() => void this.flush(), AUTOSAVE_MS)
  }

  async #write() {
    const text = this.text
    if (text === this.#saved) return
    this.saveState = 'saving'
    try {
      await saveNotebook(this.path, text)
      this.#saved = text
      this.saveError = undefined
      this.saveState = this.text === text ? 'saved' : 'unsaved'
    } catch (error) {
      this.saveState = 'error'
      this.saveError = (error as Error).message
    }
  }

  #open(cell: Cell): CellEntry {
    return { ...openCell(cell, this.#context), key: this.#nextKey++, opened: cell }
  }

  #freeId(kind: string): string {
    const taken = new Set(this.cells.map((e) => (e.opened.kind === 'prose' ? '' : e.opened.id)))
    let n = 1
    while (taken.has(`${kind}-${n}`)) n++
    return `${kind}-${n}`
  }
}

/** A cell as it should be saved now: the kind and id it opened with, the text its state holds. */
function currentCell(entry: CellEntry): Cell {
  return { ...entry.opened, source: entry.state.source ?? entry.opened.source }
}

/** A copy of `list` with a splice applied: cells is replaced, never mutated, so views update once. */
function spliced<T>(list: readonly T[], index: number, remove: number, ...insert: T[]): T[] {
  const copy = [...list]
  copy.splice(index, remove, ...insert)
  return copy
}
