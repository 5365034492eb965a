// Starts a real tunebook server on a free port over a temporary project
// folder (the repo's lessons, a fresh runs/), and a websocket client that
// collects what the server says.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import type { ClientMessage, ServerMessage } from '../../core/src/index.ts'
import { startServer, type TunebookServer } from '../../server/src/app.ts'
import type { HubLimits } from '../../server/src/hub.ts'

export const repo = fileURLToPath(new URL('../..', import.meta.url))
export const fakeWorker = [process.execPath, join(repo, 'test/server/fixtures/fake-worker.mjs')]

export interface Harness {
  server: TunebookServer
  root: string
  runsDir: string
  workerLog: string[]
  close(): Promise<void>
}

export async function startHarness(options: { workerCommand?: string[]; root?: string; hubLimits?: HubLimits } = {}): Promise<Harness> {
  const root = options.root ?? mkdtempSync(join(tmpdir(), 'tunebook-test-'))
  if (!options.root) cpSync(join(repo, 'lessons'), join(root, 'lessons'), { recursive: true })
  const workerLog: string[] = []
  const server = await startServer({
    root,
    port: 0,
    host: '127.0.0.1',
    workerCommand: options.workerCommand ?? fakeWorker,
    hubLimits: options.hubLimits,
    workerLog: (text) => workerLog.push(text),
  })
  return {
    server,
    root,
    runsDir: join(root, 'runs'),
    workerLog,
    async close() {
      await server.close()
      if (!options.root) rmSync(root, { recursive: true, force: true })
    },
  }
}

export class TestClient {
  received: ServerMessage[] = []
  private waiters: (() => void)[] = []

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.received.push(JSON.parse(data.toString()))
      this.waiters.splice(0).forEach((wake) => wake())
    })
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const socket = new WebSocket(url.replace(/^http/, 'ws') + '/ws', { headers })
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    return new TestClient(socket)
  }

  send(message: ClientMessage | string) {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** Wait until a received message satisfies the predicate; return it. */
  async waitFor<T extends ServerMessage>(predicate: (m: ServerMessage) => m is T, timeoutMs?: number): Promise<T>
  async waitFor(predicate: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>
  async waitFor(predicate: (m: ServerMessage) => boolean, timeoutMs = 10_000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.received.find(predicate)
      if (found) return found
      if (Date.now() > deadline) throw new Error(`timed out; received: ${JSON.stringify(this.received).slice(0, 2000)}`)
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 100)
      })
    }
  }

  /** All events received for a run, in order. */
  events(runId: string) {
    return this.received.flatMap((m) => (m.type === 'run.events' && m.run_id === runId ? m.events : []))
  }

  close() {
    this.socket.close()
  }
}
