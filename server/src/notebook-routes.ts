// The HTTP routes that change notebooks: create, save, copy, rename, delete.
// Notebooks does the checking and the atomic writes; this file only maps
// requests to it and every refusal to a status and a sentence.
//   POST   /api/notebooks         {title}        -> 201 {path, title}
//   PUT    /api/notebook?path=    {text}         -> {path}
//   POST   /api/notebook/copy     {path, title}  -> 201 {path, title}
//   POST   /api/notebook/rename   {path, title}  -> {path, title}
//   DELETE /api/notebook?path=                   -> 204
// Bodies must be JSON; guard.ts has already refused writes from other origins.
import express, { type NextFunction, type Request, type Response } from 'express'
import { MAX_NOTEBOOK_CHARS, NotebookError, type Notebooks } from './notebooks.ts'

export function notebookRoutes(notebooks: Notebooks): express.Router {
  const router = express.Router()
  // JSON escapes can double a text's size; the notebook's own limit is checked on the decoded text.
  router.use(express.json({ limit: MAX_NOTEBOOK_CHARS * 2 + 4096 }))

  router.post('/api/notebooks', (req, res) => {
    const title = field(req, 'title')
    res.status(201).json({ path: notebooks.create(title), title: title.trim() })
  })
  router.put('/api/notebook', (req, res) => {
    const path = query(req)
    notebooks.save(path, field(req, 'text'))
    res.json({ path })
  })
  router.post('/api/notebook/copy', (req, res) => {
    const title = field(req, 'title')
    res.status(201).json({ path: notebooks.copy(field(req, 'path'), title), title: title.trim() })
  })
  router.post('/api/notebook/rename', (req, res) => {
    const title = field(req, 'title')
    res.json({ path: notebooks.rename(field(req, 'path'), title), title: title.trim() })
  })
  router.delete('/api/notebook', (req, res) => {
    notebooks.delete(query(req))
    res.status(204).end()
  })

  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (error instanceof NotebookError) return void res.status(error.status).json({ error: error.message })
    // express.json's own refusals: malformed JSON, too large a body.
    const status = (error as { status?: number }).status
    if (status && status >= 400 && status < 500) {
      const message = status === 413 ? `the request body is over ${MAX_NOTEBOOK_CHARS * 2 + 4096} bytes` : `the request body is not valid JSON: ${(error as Error).message}`
      return void res.status(status).json({ error: message })
    }
    next(error)
  })
  return router
}

function query(req: Request): string {
  const path = req.query.path
  if (typeof path !== 'string') throw new NotebookError('the notebook path is missing: add ?path=notebooks/<name>.md', 400)
  return path
}

/** A string field of the JSON body, or a 400 that names it. */
function field(req: Request, name: string): string {
  const body: unknown = req.body
  if (!req.is('application/json') || body === null || typeof body !== 'object') {
    throw new NotebookError(`send a JSON object with "${name}" (Content-Type: application/json)`, 400)
  }
  const value = (body as Record<string, unknown>)[name]
  if (typeof value !== 'string') throw new NotebookError(`"${name}" must be a string in the request body`, 400)
  return value
}
