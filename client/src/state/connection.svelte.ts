// The one websocket to the server. It routes replies to whoever asked (a cell
// for run.accepted / run.rejected, a run for run.events), reconnects after a
// drop, and re-watches every run it was following, so a chart never misses
// events: the server answers each run.watch with the full history first.
import type { ConfigIssue } from '../../../core/src/config/validate.ts'
import { assertNever, type ClientMessage, type RunEvent, type RunSummary, type ServerMessage } from '../../../core/src/protocol.ts'

export interface RunListener {
  /** `replace` is true for the history that answers a run.watch, false for a live tail batch. */
  receive(events: RunEvent[], replace: boolean): void
}
export interface CellListener {
  accepted(run: RunSummary): void
  rejected(issues: ConfigIssue[]): void
  /** The server answered this cell's run.start with an error (unknown notebook or cell). */
  failed(message: string): void
}

type ConnectionState = 'connecting' | 'open' | 'closed'

const RETRY_MIN_MS = 500
const RETRY_MAX_MS = 8000

export class Connection {
  state = $state<ConnectionState>('connecting')
  /** The last error the server reported about a message we sent. */
  lastError = $state<string | undefined>()

  readonly #url: string
  #socket: WebSocket | undefined
  #retryMs = RETRY_MIN_MS
  /** Messages sent while the socket was down, delivered when it opens. */
  #outbox: ClientMessage[] = []
  #runs = new Map<string, RunListener>()
  /** Runs whose next run.events batch is the history answering our run.watch. */
  #awaitingHistory = new Set<string>()
  #cells = new Map<string, CellListener>()
  /** Cells whose run.start awaits its answer. */
  #starting = new Set<string>()

  constructor(url: string) {
    this.#url = url
    this.#connect()
  }

  /** Route run.accepted / run.rejected for one cell to `listener`; returns the undo. */
  listenToCell(notebook: string, cell: string, listener: CellListener): () => void {
    const key = cellKey(notebook, cell)
    this.#cells.set(key, listener)
    return () => {
      if (this.#cells.get(key) === listener) this.#cells.delete(key)
    }
  }

  start(notebook: string, cell: string, config: string) {
    this.#starting.add(cellKey(notebook, cell))
    this.#send({ type: 'run.start', notebook, cell, config })
  }

  cancel(runId: string) {
    this.#send({ type: 'run.cancel', run_id: runId })
  }

  /**
   * Follow a run's events. `ask` sends run.watch (history, then the live tail);
   * a run this client just started is watched by the server already.
   * Returns the undo, which sends run.unwatch.
   */
  watch(runId: string, listener: RunListener, ask = true): () => void {
    this.#runs.set(runId, listener)
    if (ask && this.state === 'open') this.#askHistory(runId)
    return () => {
      if (this.#runs.get(runId) !== listener) return
      this.#runs.delete(runId)
      this.#awaitingHistory.delete(runId)
      if (this.state === 'open') this.#send({ type: 'run.unwatch', run_id: runId })
    }
  }

  #askHistory(runId: string) {
    this.#awaitingHistory.add(runId)
    this.#send({ type: 'run.watch', run_id: runId })
  }

  #send(message: ClientMessage) {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message))
    // Watches are re-sent on open for every followed run; queue only the rest.
    else if (message.type === 'run.start' || message.type === 'run.cancel') this.#outbox.push(message)
  }

  #connect() {
    this.state = 'connecting'
    const socket = new WebSocket(this.#url)
    this.#socket = socket
    socket.onopen = () => {
      this.state = 'open'
      this.#retryMs = RETRY_MIN_MS
      for (const runId of this.#runs.keys()) this.#askHistory(runId)
      for (const message of this.#outbox.splice(0)) this.#send(message)
    }
    socket.onmessage = (event) => this.#receive(JSON.parse(event.data) as ServerMessage)
    socket.onclose = () => {
      this.state = 'closed'
      // A run.start already sent will never be answered on this socket.
      const unsent = new Set(this.#outbox.map((m) => (m.type === 'run.start' ? cellKey(m.notebook, m.cell) : '')))
      for (const key of this.#starting) {
        if (unsent.has(key)) continue
        this.#starting.delete(key)
        this.#cells.get(key)?.failed('the connection dropped before the server answered; press Run again')
      }
      setTimeout(() => this.#connect(), this.#retryMs)
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS)
    }
  }

  #receive(message: ServerMessage) {
    switch (message.type) {
      case 'run.accepted': {
        const key = cellKey(message.run.notebook, message.run.cell)
        this.#starting.delete(key)
        this.#cells.get(key)?.accepted(message.run)
        return
      }
      case 'run.rejected': {
        const key = cellKey(message.notebook, message.cell)
        this.#starting.delete(key)
        this.#cells.get(key)?.rejected(message.issues)
        return
      }
      case 'run.events': {
        const replace = this.#awaitingHistory.delete(message.run_id)
        this.#runs.get(message.run_id)?.receive(message.events, replace)
        return
      }
      case 'error':
        // run.start is always answered by accepted or rejected; an error concerns a watch or a cancel.
        this.lastError = message.message
        return
      default:
        assertNever(message)
    }
  }
}

const cellKey = (notebook: string, cell: string) => `${notebook}\u0000${cell}`
