// The server's HTTP API: one typed function per endpoint.
import type { RunSummary } from '../../core/src/protocol.ts'

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
