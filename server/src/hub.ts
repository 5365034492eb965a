// Fans run events out to the websocket clients watching each run. Events are
// batched per client and flushed on a short timer, and a client that stops
// reading is dropped rather than buffered without bound, so no client can
// slow training or grow the server's memory.
import type { WebSocket } from 'ws'
import type { RunEvent, ServerMessage } from '../../core/src/index.ts'

export interface HubLimits {
  /** How often batched events go out. */
  flushMs: number
  /** Bytes a client may leave unread in its socket before we stop sending to it. */
  maxBuffered: number
  /** Events we hold for a client that is behind; past this it is dropped and must re-watch. */
  maxPending: number
}

export const DEFAULT_HUB_LIMITS: HubLimits = { flushMs: 50, maxBuffered: 4 * 1024 * 1024, maxPending: 50_000 }

class Client {
  watching = new Set<string>()
  pending = new Map<string, RunEvent[]>()
  pendingCount = 0
  constructor(readonly socket: WebSocket) {}
}

export class Hub {
  private clients = new Map<WebSocket, Client>()
  private timer: NodeJS.Timeout

  constructor(private limits: HubLimits = DEFAULT_HUB_LIMITS) {
    this.timer = setInterval(() => this.flush(), limits.flushMs)
    this.timer.unref()
  }

  add(socket: WebSocket) {
    this.clients.set(socket, new Client(socket))
  }

  remove(socket: WebSocket) {
    this.clients.delete(socket)
  }

  /** Start watching: the history goes first, in one message, then the live tail. */
  watch(socket: WebSocket, runId: string, history: RunEvent[]) {
    const client = this.clients.get(socket)
    if (!client) return
    client.watching.add(runId)
    client.pending.delete(runId)
    send(socket, { type: 'run.events', run_id: runId, events: history })
  }

  unwatch(socket: WebSocket, runId: string) {
    this.clients.get(socket)?.watching.delete(runId)
  }

  publish(runId: string, events: RunEvent[]) {
    for (const client of this.clients.values()) {
      if (!client.watching.has(runId)) continue
      const queue = client.pending.get(runId) ?? []
      queue.push(...events)
      client.pending.set(runId, queue)
      client.pendingCount += events.length
      if (client.pendingCount > this.limits.maxPending) {
        // Not close(): its closing frame would queue behind the data it is not reading.
        // The client reconnects and re-watches, and gets the history from the run's file.
        client.socket.terminate()
        this.remove(client.socket)
      }
    }
  }

  flush() {
    for (const client of this.clients.values()) {
      if (client.pending.size === 0 || client.socket.bufferedAmount > this.limits.maxBuffered) continue
      for (const [runId, events] of client.pending) send(client.socket, { type: 'run.events', run_id: runId, events })
      client.pending.clear()
      client.pendingCount = 0
    }
  }

  close() {
    clearInterval(this.timer)
  }
}

export function send(socket: WebSocket, message: ServerMessage) {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message))
}
