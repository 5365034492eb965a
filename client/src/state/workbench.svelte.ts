// The app's top level: the list of notebooks, and which one is open. The URL
// hash (#lessons/welcome.md) names the open notebook, so a reload keeps it.
import { listNotebooks, loadNotebook, type NotebookIndex } from '../api.ts'
import type { Connection } from './connection.svelte.ts'
import { NotebookSession } from './notebook.svelte.ts'

export const DEFAULT_NOTEBOOK = 'lessons/welcome.md'

const pathFromHash = () => decodeURIComponent(location.hash.replace(/^#\/?/, '')) || DEFAULT_NOTEBOOK

export class Workbench {
  index = $state.raw<NotebookIndex | undefined>()
  indexError = $state<string | undefined>()
  path = $state(pathFromHash())
  notebook = $state.raw<NotebookSession | undefined>()
  notebookError = $state<string | undefined>()
  loading = $state(false)

  readonly #connection: Connection

  constructor(connection: Connection) {
    this.#connection = connection
    addEventListener('hashchange', () => this.#open(pathFromHash()))
    listNotebooks().then(
      (index) => (this.index = index),
      (error: Error) => (this.indexError = error.message),
    )
    this.#open(this.path)
  }

  async #open(path: string) {
    this.path = path
    this.loading = true
    this.notebookError = undefined
    try {
      const file = await loadNotebook(path)
      if (this.path !== path) return // another notebook was chosen meanwhile
      this.notebook?.dispose()
      this.notebook = new NotebookSession(file, this.#connection)
    } catch (error) {
      if (this.path !== path) return
      this.notebook?.dispose()
      this.notebook = undefined
      this.notebookError = (error as Error).message
    } finally {
      if (this.path === path) this.loading = false
    }
  }
}
