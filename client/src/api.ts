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

/** The saved adapter's size on disk. */
export const adapterInfo = (runId: string) => getJson<{ file: string; bytes: number }>(`/api/runs/${encodeURIComponent(runId)}/adapter`)

/** A sample image by its name inside the run's samples/ folder. */
export const sampleUrl = (runId: string, name: string) => `/runs/${encodeURIComponent(runId)}/samples/${encodeURIComponent(name)}`
