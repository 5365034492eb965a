// The app's top level: the list of notebooks, which one is open, and the
// file actions (create, save a copy, rename, delete). The URL hash
// (#lessons/welcome.md) names the open notebook, so a reload keeps it.
import { copyNotebook, createNotebook, deleteNotebook, listNotebooks, loadNotebook, renameNotebook, type NotebookIndex } from '../api.ts'
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
  /** Why the last create, copy, rename or delete failed, if it did. */
  actionError = $state<string | undefined>()

  readonly #connection: Connection

  constructor(connection: Connection) {
    this.#connection = connection
    addEventListener('hashchange', () => this.#open(pathFromHash()))
    // Autosave waits ~600 ms; leaving the page inside that window would lose the last keystrokes.
    addEventListener('beforeunload', (event) => {
      const state = this.notebook?.saveState
      if (state === 'unsaved' || state === 'saving') event.preventDefault()
    })
    this.#refreshIndex()
    this.#open(this.path)
  }

  create(title: string) {
    return this.#act(async () => (await createNotebook(title)).path)
  }

  /** A copy of the open notebook (lesson or not) in notebooks/, with its latest edits saved first. */
  saveCopy(title: string) {
    return this.#act(async (notebook) => {
      await notebook?.flush()
      return (await copyNotebook(this.path, title)).path
    })
  }

  rename(title: string) {
    return this.#act(async (notebook) => {
      await notebook?.flush()
      return (await renameNotebook(this.path, title)).path
    })
  }

  remove() {
    return this.#act(async () => {
      await deleteNotebook(this.path)
      return DEFAULT_NOTEBOOK
    })
  }

  /** Run a file action, then list the notebooks again and open the path it returns; true when it worked. */
  async #act(action: (notebook: NotebookSession | undefined) => Promise<string>): Promise<boolean> {
    this.actionError = undefined
    try {
      const path = await action(this.notebook)
      this.#refreshIndex()
      // A rename that keeps the file name changes no hash, so open it again by hand.
      if (path === this.path) void this.#open(path)
      else location.hash = path
      return true
    } catch (error) {
      this.actionError = (error as Error).message
      return false
    }
  }

  #refreshIndex() {
    listNotebooks().then(
      (index) => ((this.index = index), (this.indexError = undefined)),
      (error: Error) => (this.indexError = error.message),
    )
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
