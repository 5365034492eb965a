// The server's HTTP API: one typed function per endpoint.
import type { TrainConfig } from '../../core/src/config/schema.ts'
import type { RunEvent, RunSummary } from '../../core/src/protocol.ts'

export interface NotebookEntry {
  /** Path relative to the project root, e.g. "lessons/welcome.md". */
  path: string
  title: string
}
export interface NotebookIndex {
  lessons: NotebookEntry[]
  notebooks: NotebookEntry[]
}
export interface NotebookFile {
  path: string
  title: string
  readonly: boolean
  text: string
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url)
  const body = await response.json().catch(() => undefined)
  if (!response.ok) throw new Error(body?.error ?? `${url}: HTTP ${response.status}`)
  return body as T
}

export const listNotebooks = () => getJson<NotebookIndex>('/api/notebooks')

export const loadNotebook = (path: string) => getJson<NotebookFile>(`/api/notebook?path=${encodeURIComponent(path)}`)

/** Runs of one cell, newest first. */
export const listRuns = (notebook: string, cell: string) =>
  getJson<RunSummary[]>(`/api/runs?notebook=${encodeURIComponent(notebook)}&cell=${encodeURIComponent(cell)}`)

/** The server serves each run's adapter at one fixed name. */
export const adapterUrl = (runId: string) => `/runs/${encodeURIComponent(runId)}/adapter.safetensors`

/** A run's history as recorded in runs/<id>/events.jsonl. */
export const runEvents = (runId: string) => getJson<RunEvent[]>(`/api/runs/${encodeURIComponent(runId)}/events`)

/** What a run was started with: the YAML as written and the config the trainer received. */
export interface RunConfig {
  id: string
  cell: string
  source: string
  config: TrainConfig
}
export const runConfig = (runId: string) => getJson<RunConfig>(`/api/runs/${encodeURIComponent(runId)}/config`)

/** An adapter saved along the way (training.save_every): adapters/step-00000100.safetensors in the run folder. */
export interface SavedAdapter {
  step: number
  file: string
  bytes: number
}

/** A trained word's own embedding file (method.embedding_words): embeddings/star.safetensors in the run folder. */
export interface WordFile {
  word: string
  file: string
  bytes: number
}

/** The final adapter's size on disk, the adapters saved along the way, by step, and the trained words' own files. */
export const adapterInfo = (runId: string) =>
  getJson<{ file: string; bytes: number; saved: SavedAdapter[]; words: WordFile[] }>(`/api/runs/${encodeURIComponent(runId)}/adapter`)

/** A trained word's embedding file by its name inside the run's embeddings/ folder. */
export const wordFileUrl = (runId: string, file: string) => `/runs/${encodeURIComponent(runId)}/embeddings/${encodeURIComponent(file)}`

/** A saved adapter by its name inside the run's adapters/ folder. */
export const savedAdapterUrl = (runId: string, file: string) => `/runs/${encodeURIComponent(runId)}/adapters/${encodeURIComponent(file)}`

/** A sample image by its name inside the run's samples/ folder. */
export const sampleUrl = (runId: string, name: string) => `/runs/${encodeURIComponent(runId)}/samples/${encodeURIComponent(name)}`

async function sendJson<T>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const reply = response.status === 204 ? undefined : await response.json().catch(() => undefined)
  if (!response.ok) throw new Error(reply?.error ?? `${method} ${url}: HTTP ${response.status}`)
  return reply as T
}

const notebookUrl = (path: string) => `/api/notebook?path=${encodeURIComponent(path)}`

/** A new notebook in notebooks/ holding only its title. */
export const createNotebook = (title: string) => sendJson<NotebookEntry>('POST', '/api/notebooks', { title })

/** Replace a notebook's text on disk (atomically; lessons are refused). */
export const saveNotebook = (path: string, text: string) => sendJson<{ path: string }>('PUT', notebookUrl(path), { text })

/** "Save a copy": a lesson or notebook copied into notebooks/ under a new title. */
export const copyNotebook = (path: string, title: string) => sendJson<NotebookEntry>('POST', '/api/notebook/copy', { path, title })

/** A new title and the file name that goes with it. */
export const renameNotebook = (path: string, title: string) => sendJson<NotebookEntry>('POST', '/api/notebook/rename', { path, title })

export const deleteNotebook = (path: string) => sendJson<void>('DELETE', notebookUrl(path))
