// Run data over HTTP, for what a page needs beyond the websocket's live tail:
// a run's events and config (compare cells, the summary's copy buttons), its
// adapters' sizes, the adapters saved along the way (training.save_every), its
// trained words' own embedding files (method.embedding_words), and its sample
// images. Only files inside a known run's samples/, adapters/ or embeddings/
// folder are ever served from them: the name is checked against a strict
// pattern and the resolved real path must stay inside that folder.
import { Router, type Response } from 'express'
import { readdirSync, realpathSync, statSync } from 'node:fs'
import { join, sep } from 'node:path'
import { readEvents, type RunRecord, type RunStore } from './store.ts'

/** What a sample file may be called: the trainer writes <step>_<index>.png. */
const SAMPLE_NAME = /^[\w-][\w.-]*\.(png|jpg|jpeg|webp)$/
/** What an adapter saved along the way is called: the trainer writes adapters/step-<8-digit step>.safetensors. */
const SAVED_ADAPTER_NAME = /^step-(\d{8})\.safetensors$/
/** What a trained word's own embedding file is called: the trainer writes embeddings/<word>.safetensors. */
const WORD_FILE_NAME = /^([\p{L}\p{N}_-]+)\.safetensors$/u

export function runRoutes(store: RunStore): Router {
  const router = Router()
  const known = (id: string, res: Response): RunRecord | undefined => {
    const record = store.get(id)
    if (!record) res.status(404).json({ error: `no run with id "${id}"` })
    return record
  }

  router.get('/api/runs/:id/events', (req, res) => {
    const record = known(req.params.id, res)
    // readEvents drops a torn last line: the run may be writing it right now.
    if (record) res.json(readEvents(join(record.dir, 'events.jsonl')).events)
  })

  router.get('/api/runs/:id/config', (req, res) => {
    if (known(req.params.id, res)) res.json(store.config(req.params.id))
  })

  router.get('/api/runs/:id/adapter', (req, res) => {
    const record = known(req.params.id, res)
    if (!record) return
    const size = fileSize(join(record.dir, 'adapter.safetensors'))
    if (size === undefined) return void res.status(404).json({ error: `run "${req.params.id}" has no adapter (yet)` })
    res.json({ file: 'adapter.safetensors', bytes: size, saved: savedAdapters(record.dir), words: wordFiles(record.dir) })
  })

  router.get('/runs/:id/adapters/:file', (req, res) => {
    const { id, file: name } = req.params
    const record = store.get(id)
    const file = record && SAVED_ADAPTER_NAME.test(name) ? inside(record.dir, 'adapters', name) : undefined
    if (!record || !file) return void res.status(404).json({ error: `run "${id}" has no saved adapter "${name}" (they are named like step-00000100.safetensors)` })
    // sd-scripts names its along-the-way files <name>-step00000100.safetensors.
    res.download(file, `${record.summary.cell}-${record.summary.id}-step${name.slice(5)}`)
  })

  router.get('/runs/:id/embeddings/:file', (req, res) => {
    const { id, file: name } = req.params
    const record = store.get(id)
    const file = record && WORD_FILE_NAME.test(name) ? inside(record.dir, 'embeddings', name) : undefined
    if (!record || !file) return void res.status(404).json({ error: `run "${id}" has no word file "${name}" (a run with method.embedding_words writes one per word, e.g. star.safetensors)` })
    res.download(file, name) // ComfyUI calls an embedding by its file name: embedding:star
  })

  router.get('/runs/:id/samples/:name', (req, res) => {
    const record = known(req.params.id, res)
    if (!record) return
    const { name } = req.params
    if (!SAMPLE_NAME.test(name)) {
      return void res.status(400).json({ error: `"${name}" is not a sample file name (expected e.g. 000040_0.png)` })
    }
    const file = inside(record.dir, 'samples', name)
    if (!file) return void res.status(404).json({ error: `run "${record.summary.id}" has no sample "${name}"` })
    res.sendFile(file, { dotfiles: 'deny', headers: { 'Cache-Control': 'private, max-age=31536000, immutable' } })
  })

  return router
}

/** The real path of <folder>/<name> if it is a regular file whose real path lies inside the run's real <folder>. */
function inside(runDir: string, folderName: string, name: string): string | undefined {
  try {
    const folder = realpathSync(join(runDir, folderName))
    const file = realpathSync(join(folder, name))
    return file.startsWith(folder + sep) && statSync(file).isFile() ? file : undefined
  } catch {
    return undefined // missing folder or file
  }
}

/** The adapters saved along the way, by step; only those the download route would serve. */
function savedAdapters(runDir: string): { step: number; file: string; bytes: number }[] {
  return served(runDir, 'adapters', SAVED_ADAPTER_NAME)
    .map(({ match, file, bytes }) => ({ step: Number(match[1]), file, bytes }))
    .sort((a, b) => a.step - b.step)
}

/** The trained words' own embedding files; only those the download route would serve. */
function wordFiles(runDir: string): { word: string; file: string; bytes: number }[] {
  return served(runDir, 'embeddings', WORD_FILE_NAME).map(({ match, file, bytes }) => ({ word: match[1], file, bytes }))
}

/** The files of a run's folder that match `pattern` and that `inside` lets out, with their sizes. */
function served(runDir: string, folder: string, pattern: RegExp): { match: RegExpExecArray; file: string; bytes: number }[] {
  let names: string[]
  try {
    names = readdirSync(join(runDir, folder))
  } catch {
    return [] // nothing of the kind saved (yet)
  }
  return names.flatMap((name) => {
    const match = pattern.exec(name)
    const path = match ? inside(runDir, folder, name) : undefined
    const bytes = path === undefined ? undefined : fileSize(path)
    return match && bytes !== undefined ? [{ match, file: name, bytes }] : []
  })
}

function fileSize(file: string): number | undefined {
  try {
    const stat = statSync(file)
    return stat.isFile() ? stat.size : undefined
  } catch {
    return undefined
  }
}
