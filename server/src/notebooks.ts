// Notebooks on disk: lessons/ (shipped, read-only in the UI) and notebooks/
// (the user's own). Every path a client names is checked here, once: it must
// stay inside one of those two folders, symlinks included.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { join, sep } from 'node:path'
import { notebookTitle, parseNotebook } from '../../core/src/index.ts'

export const NOTEBOOK_FOLDERS = ['lessons', 'notebooks'] as const
const NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,119}\.md$/

export interface NotebookEntry {
  path: string
  title: string
}

export class NotebookError extends Error {
  constructor(
    message: string,
    readonly status: 404 | 400,
  ) {
    super(message)
  }
}

export class Notebooks {
  constructor(readonly root: string) {}

  list(): Record<(typeof NOTEBOOK_FOLDERS)[number], NotebookEntry[]> {
    const entries = (folder: string) => {
      const dir = join(this.root, folder)
      if (!existsSync(dir)) return []
      return readdirSync(dir)
        .filter((name) => NAME.test(name))
        .sort()
        .map((name) => {
          const path = `${folder}/${name}`
          return { path, title: notebookTitle(parseNotebook(this.read(path)), name.replace(/\.md$/, '')) }
        })
    }
    return { lessons: entries('lessons'), notebooks: entries('notebooks') }
  }

  read(path: string): string {
    return readFileSync(this.resolve(path), 'utf8')
  }

  readonly(path: string): boolean {
    return path.startsWith('lessons/')
  }

  /** The absolute file of a notebook path like "lessons/welcome.md", or a NotebookError saying why not. */
  resolve(path: string): string {
    const [folder, name, ...rest] = path.split('/')
    if (!NOTEBOOK_FOLDERS.includes(folder as never) || rest.length || !name || !NAME.test(name) || name.includes('..')) {
      throw new NotebookError(
        `notebook path "${path.slice(0, 200)}" is not valid: it must be lessons/<name>.md or notebooks/<name>.md (letters, digits, space, _ . -)`,
        400,
      )
    }
    const file = join(this.root, folder, name)
    if (!existsSync(file)) throw new NotebookError(`notebook "${path}" does not exist`, 404)
    const real = realpathSync(file)
    if (!real.startsWith(realpathSync(join(this.root, folder)) + sep)) {
      throw new NotebookError(`notebook "${path}" points outside ${folder}/`, 400)
    }
    return real
  }
}
