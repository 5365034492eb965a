// Notebooks on disk: lessons/ (shipped, read-only in the UI) and notebooks/
// (the user's own). Every path a client names is checked here, once: it must
// stay inside one of those two folders, symlinks included. Only notebooks/ is
// written, and every write is atomic: a temp file in the same folder, fsynced,
// then renamed over the old one, so a crash or a full disk never leaves half a file.
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname, join, sep } from 'node:path'
import { notebookTitle, parseNotebook, serializeNotebook, type Notebook } from '../../core/src/index.ts'

export const NOTEBOOK_FOLDERS = ['lessons', 'notebooks'] as const
const NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,119}\.md$/
/** A notebook is a page of prose and configs; anything near this size is a mistake, not a notebook. */
export const MAX_NOTEBOOK_CHARS = 1024 * 1024
const MAX_TITLE_CHARS = 100

export interface NotebookEntry {
  path: string
  title: string
}

export class NotebookError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 404 | 409 | 500,
  ) {
    super(message)
  }
}

/**
 * Reading order: by the number a file name starts with ("10-lora.md" before
 * "20-optimizers.md"); a name without one (the welcome lesson) comes first.
 */
export function byOrder(a: string, b: string): number {
  const order = (name: string) => Number(/^(\d+)-/.exec(name)?.[1] ?? 0)
  return order(a) - order(b) || a.localeCompare(b)
}

export class Notebooks {
  constructor(readonly root: string) {}

  list(): Record<(typeof NOTEBOOK_FOLDERS)[number], NotebookEntry[]> {
    const entries = (folder: string) => {
      const dir = join(this.root, folder)
      if (!existsSync(dir)) return []
      return readdirSync(dir)
        .filter((name) => NAME.test(name))
        .sort(byOrder)
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

  /** The absolute file of an existing notebook path like "lessons/welcome.md", or a NotebookError saying why not. */
  resolve(path: string): string {
    const { folder, file } = this.#place(path)
    if (!existsSync(file)) throw new NotebookError(`notebook "${path}" does not exist`, 404)
    const real = realpathSync(file)
    if (!real.startsWith(realpathSync(join(this.root, folder)) + sep)) {
      throw new NotebookError(`notebook "${path}" points outside ${folder}/`, 400)
    }
    return real
  }

  /** Replace an existing notebook's text. */
  save(path: string, text: string): void {
    this.#writable(path)
    this.#write(this.resolve(path), text, path)
  }

  /** A new notebook holding only its title; returns its path. */
  create(title: string): string {
    const clean = checkTitle(title)
    return this.#writeNew(clean, serializeNotebook({ frontMatter: '', cells: [{ kind: 'prose', source: `# ${clean}` }] }))
  }

  /** "Save a copy": a lesson or notebook copied into notebooks/ under a new title; returns the copy's path. */
  copy(path: string, title: string): string {
    const clean = checkTitle(title)
    return this.#writeNew(clean, retitle(this.read(path), clean))
  }

  /** A new title, and the file name that goes with it; returns the new path. */
  rename(path: string, title: string): string {
    const clean = checkTitle(title)
    this.#writable(path)
    const text = retitle(this.read(path), clean)
    if (slug(clean) === fileSlug(path)) return this.save(path, text), path
    const renamed = this.#writeNew(clean, text)
    this.#remove(path)
    return renamed
  }

  delete(path: string): void {
    this.#writable(path)
    this.#remove(path)
  }

  #remove(path: string) {
    const file = this.resolve(path)
    try {
      unlinkSync(file)
    } catch (e) {
      throw new NotebookError(`could not delete "${path}": ${(e as Error).message.split(',')[0]}`, 500)
    }
  }

  /** Check a notebook path's shape, whether or not the file exists yet. */
  #place(path: string): { folder: string; name: string; file: string } {
    const [folder, name, ...rest] = path.split('/')
    if (!NOTEBOOK_FOLDERS.includes(folder as never) || rest.length || !name || !NAME.test(name) || name.includes('..')) {
      throw new NotebookError(
        `notebook path "${path.slice(0, 200)}" is not valid: it must be lessons/<name>.md or notebooks/<name>.md (letters, digits, space, _ . -)`,
        400,
      )
    }
    return { folder, name, file: join(this.root, folder, name) }
  }

  #writable(path: string) {
    this.#place(path)
    if (this.readonly(path)) {
      throw new NotebookError(`"${path}" is a lesson, and lessons are read-only; save a copy to notebooks/ to edit it`, 403)
    }
  }

  /** Write a new file in notebooks/ named after the title, never over an existing one: "title-2.md" if "title.md" is taken. */
  #writeNew(title: string, text: string): string {
    const base = slug(title)
    mkdirSync(join(this.root, 'notebooks'), { recursive: true })
    for (let n = 1; n < 1000; n++) {
      const path = `notebooks/${n === 1 ? base : `${base}-${n}`}.md`
      const { file } = this.#place(path)
      if (existsSync(file) || isLink(file)) continue
      this.#write(file, text, path)
      return path
    }
    throw new NotebookError(`too many notebooks are named like "${base}"; choose another title`, 409)
  }

  #write(file: string, text: string, path: string) {
    if (typeof text !== 'string') throw new NotebookError(`the text of "${path}" must be a string`, 400)
    if (text.length > MAX_NOTEBOOK_CHARS) {
      throw new NotebookError(`"${path}" would be ${text.length} characters; the limit is ${MAX_NOTEBOOK_CHARS}`, 400)
    }
    // Same folder as the file, so the rename is atomic (one filesystem).
    const temp = join(dirname(file), `.${randomBytes(6).toString('hex')}.tmp`)
    try {
      const fd = openSync(temp, 'wx', 0o644)
      try {
        writeSync(fd, text)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(temp, file)
    } catch (e) {
      try {
        unlinkSync(temp)
      } catch {
        // The temp file was never created; nothing to clean up.
      }
      // Node's message names the temp file's absolute path after a comma; the reason before it is what the reader needs.
      throw new NotebookError(`could not save "${path}": ${(e as Error).message.split(',')[0]}; the file on disk is unchanged`, 500)
    }
  }
}

function checkTitle(title: unknown): string {
  if (typeof title !== 'string' || !title.trim()) throw new NotebookError('a notebook needs a title: a non-empty string', 400)
  const clean = title.trim()
  if (clean.length > MAX_TITLE_CHARS) throw new NotebookError(`the title is ${clean.length} characters; the limit is ${MAX_TITLE_CHARS}`, 400)
  if (/[\n\r\0]/.test(clean)) throw new NotebookError('the title must be one line of text', 400)
  return clean
}

/** A file name for a title: lower-case words joined by "-", e.g. "My LoRA tests" -> "my-lora-tests". */
function slug(title: string): string {
  const words = title.normalize('NFKD').replace(/[^\w\s-]/g, '').toLowerCase().split(/[\s_-]+/).filter(Boolean)
  return words.join('-').slice(0, 80).replace(/-+$/, '') || 'notebook'
}

const fileSlug = (path: string) => path.replace(/^.*\/|\.md$/g, '')

const isLink = (file: string) => {
  try {
    return lstatSync(file).isSymbolicLink()
  } catch {
    return false
  }
}

/** The notebook's text with its first level-1 heading set to `title` (added at the top when it has none). */
function retitle(text: string, title: string): string {
  const notebook: Notebook = parseNotebook(text)
  const index = notebook.cells.findIndex((c) => c.kind === 'prose' && /^#\s+.+$/m.test(c.source))
  const cells = [...notebook.cells]
  if (index < 0) cells.unshift({ kind: 'prose', source: `# ${title}` })
  else cells[index] = { kind: 'prose', source: cells[index].source.replace(/^#\s+.+$/m, `# ${title}`) }
  return serializeNotebook({ ...notebook, cells })
}
