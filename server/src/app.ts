// The tunebook server: serves the client, notebooks and run records over HTTP,
// and runs over a websocket. Everything a client sends is checked here, at
// the edge, and every bad input is answered in words; nothing crashes it.
import express from 'express'
import { createServer } from 'node:http'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'
import {
  MAX_MESSAGE_BYTES,
  assertNever,
  decodeClientMessage,
  notebookTitle,
  parseNotebook,
  type ClientMessage,
} from '../../core/src/index.ts'
import { Guard } from './guard.ts'
import { Hub, send, type HubLimits } from './hub.ts'
import { RateLimit } from './rate-limit.ts'
import { parseCellConfig } from '../../core/src/config/defaults.ts'
import { notebookRoutes } from './notebook-routes.ts'
import { NotebookError, Notebooks } from './notebooks.ts'
import { Runner } from './runs/runner.ts'
import { runRoutes } from './runs/routes.ts'
import { RunStore } from './runs/store.ts'
import { TrainerWorker } from './trainer/worker.ts'

export interface ServerOptions {
  /** The project folder: lessons/, notebooks/, models/, dist/client live here. */
  root: string
  port: number
  host: string
  /** Where run folders go; default <root>/runs. */
  runsDir?: string
  /** argv of the trainer worker; default the venv's python -m trainer worker. */
  workerCommand?: string[]
  /** Fan-out limits for slow clients; tests make them small. */
  hubLimits?: HubLimits
  /** Where the worker's own stdout/stderr go; default this process's stderr. */
  workerLog?: (text: string) => void
}

export interface TunebookServer {
  url: string
  close(): Promise<void>
}

export async function startServer(options: ServerOptions): Promise<TunebookServer> {
  const notebooks = new Notebooks(options.root)
  const store = new RunStore(options.runsDir ?? join(options.root, 'runs'))
  const interrupted = store.interruptOrphans('the server stopped while this run was active')
  if (interrupted.length) console.warn(`marked ${interrupted.length} orphaned run(s) interrupted: ${interrupted.join(', ')}`)

  const worker = new TrainerWorker({
    command: options.workerCommand ?? [join(options.root, '.venv/bin/python'), '-m', 'trainer', 'worker'],
    cwd: options.root,
    log: options.workerLog ?? ((text) => process.stderr.write(text)),
  })
  const runner = new Runner(store, worker, (record) => ({
    type: 'run',
    run_id: record.summary.id,
    run_dir: record.dir,
    config: store.config(record.summary.id).config,
  }))
  const hub = new Hub(options.hubLimits)
  runner.on('events', (runId, events) => hub.publish(runId, events))
  worker.start()

  const app = express()
  app.disable('x-powered-by')
  const guard = new Guard(options.host)
  app.use(guard.http)
  app.get('/api/notebooks', (_req, res) => {
    res.json(notebooks.list())
  })
  app.get('/api/notebook', (req, res) => {
    const path = String(req.query.path ?? '')
    try {
      const text = notebooks.read(path)
      const title = notebookTitle(parseNotebook(text), path.replace(/^.*\/|\.md$/g, ''))
      res.json({ path, title, readonly: notebooks.readonly(path), text })
    } catch (e) {
      if (!(e instanceof NotebookError)) throw e
      res.status(e.status).json({ error: e.message })
    }
  })
  app.use(notebookRoutes(notebooks))
  app.get('/api/runs', (req, res) => {
    res.json(store.list({ notebook: str(req.query.notebook), cell: str(req.query.cell) }))
  })
  app.get('/runs/:id/adapter.safetensors', (req, res) => {
    const record = store.get(req.params.id)
    const file = record && join(record.dir, 'adapter.safetensors')
    if (!file || !existsSync(file)) return void res.status(404).json({ error: `run "${req.params.id}" has no adapter` })
    res.download(file, `${record.summary.cell}-${record.summary.id}.safetensors`)
  })
  app.use(runRoutes(store))
  const client = join(options.root, 'dist/client')
  app.use(express.static(client))
  app.get('/{*path}', (_req, res) => res.sendFile(join(client, 'index.html')))

  const http = createServer(app)
  const wss = new WebSocketServer({
    server: http,
    path: '/ws',
    maxPayload: MAX_MESSAGE_BYTES,
    verifyClient: guard.websocket,
  })

  const runStarts = new WeakMap<WebSocket, RateLimit>()
  wss.on('connection', (socket: WebSocket) => {
    hub.add(socket)
    runStarts.set(socket, new RateLimit(RUN_STARTS_PER_MINUTE, 60_000))
    socket.on('close', () => hub.remove(socket))
    socket.on('error', () => hub.remove(socket))
    socket.on('message', (data, isBinary) => {
      if (isBinary) return send(socket, { type: 'error', message: 'binary messages are not understood; send JSON text' })
      const decoded = decodeClientMessage(data.toString())
      if (!decoded.ok) return send(socket, { type: 'error', message: decoded.error })
      try {
        handle(socket, decoded.message)
      } catch (e) {
        // A bug must cost one message, never the server and everyone's runs.
        console.error(e)
        send(socket, { type: 'error', message: `the server could not handle ${decoded.message.type}: ${(e as Error).message}` })
      }
    })
  })

  function handle(socket: WebSocket, message: ClientMessage): void {
    switch (message.type) {
      case 'run.start': {
        const { notebook, cell } = message
        const reject = (message: string) => send(socket, { type: 'run.rejected', notebook, cell, issues: [{ path: '', message }] })
        if (!runStarts.get(socket)!.take()) return reject(`too many runs started: at most ${RUN_STARTS_PER_MINUTE} a minute from one page`)
        let cells, frontMatter
        try {
          ;({ cells, frontMatter } = parseNotebook(notebooks.read(notebook)))
        } catch (e) {
          if (!(e instanceof NotebookError)) throw e
          return reject(e.message)
        }
        if (!cells.some((c) => c.kind === 'train' && c.id === cell)) {
          return reject(`notebook "${notebook}" has no train cell with id "${cell}"`)
        }
        // Defaults come from the notebook as saved on disk: front-matter edits apply once the client's autosave lands.
        const parsed = parseCellConfig(frontMatter, message.config)
        if (!parsed.ok) return send(socket, { type: 'run.rejected', notebook, cell, issues: parsed.issues })
        const record = store.create(notebook, cell, message.config, parsed.config)
        send(socket, { type: 'run.accepted', run: { ...record.summary }, warnings: parsed.warnings })
        hub.watch(socket, record.summary.id, [])
        runner.enqueue(record)
        return
      }
      case 'run.cancel':
        if (!runner.cancel(message.run_id)) {
          send(socket, { type: 'error', message: `run "${message.run_id}" is not queued or running, so it cannot be cancelled` })
        }
        return
      case 'run.watch':
        if (!store.get(message.run_id)) return send(socket, { type: 'error', message: `no run with id "${message.run_id}"` })
        return hub.watch(socket, message.run_id, store.events(message.run_id))
      case 'run.unwatch':
        return hub.unwatch(socket, message.run_id)
      default:
        assertNever(message)
    }
  }

  await new Promise<void>((resolve) => http.listen(options.port, options.host, resolve))
  const address = http.address()
  const port = typeof address === 'object' && address ? address.port : options.port

  return {
    url: `http://${options.host}:${port}`,
    async close() {
      hub.close()
      for (const socket of wss.clients) socket.terminate()
      wss.close()
      await new Promise<void>((resolve) => http.close(() => resolve()))
      await worker.stop()
    },
  }
}

/** Generous for a person pressing Run, and for a lesson's test running every cell; tight for a flood. */
const RUN_STARTS_PER_MINUTE = 60

const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
