// The run queue in front of the trainer worker: runs wait in order, one trains
// at a time, and every event is recorded in the store before anyone sees it.
import { EventEmitter } from 'node:events'
import { isTerminal, type RunEvent } from '../../../core/src/index.ts'
import type { TrainerWorker } from '../trainer/worker.ts'
import type { RunRecord, RunStore } from './store.ts'

interface RunnerEvents {
  events: [runId: string, events: RunEvent[]]
}

const now = () => Date.now() / 1000

export class Runner extends EventEmitter<RunnerEvents> {
  private queue: RunRecord[] = []
  private current?: RunRecord
  private workerReady = false
  private restarts = 0

  constructor(
    private store: RunStore,
    private worker: TrainerWorker,
    private configOf: (record: RunRecord) => Parameters<TrainerWorker['send']>[0] & { type: 'run' },
  ) {
    super()
    worker.on('ready', () => {
      this.workerReady = true
      this.restarts = 0
      this.next()
    })
    worker.on('idle', () => {
      this.current = undefined
      this.next()
    })
    worker.on('event', (runId, event) => this.record(runId, [event]))
    worker.on('exit', (reason) => this.workerDied(reason))
  }

  enqueue(record: RunRecord): void {
    this.queue.push(record)
    this.record(record.summary.id, [{ type: 'queued', time: now(), position: this.queue.length - 1 + (this.current ? 1 : 0) }])
    this.next()
  }

  cancel(runId: string): boolean {
    const waiting = this.queue.findIndex((r) => r.summary.id === runId)
    if (waiting >= 0) {
      this.queue.splice(waiting, 1)
      this.record(runId, [{ type: 'cancelled', time: now(), step: 0 }])
      this.announcePositions()
      return true
    }
    if (this.current?.summary.id === runId) {
      this.worker.send({ type: 'cancel', run_id: runId })
      return true
    }
    return false
  }

  private next() {
    if (!this.workerReady || this.current || this.queue.length === 0) return
    this.current = this.queue.shift()!
    this.worker.send(this.configOf(this.current))
    this.announcePositions()
  }

  private announcePositions() {
    this.queue.forEach((r, i) => this.record(r.summary.id, [{ type: 'queued', time: now(), position: i + 1 }]))
  }

  private record(runId: string, events: RunEvent[]) {
    const record = this.store.get(runId)
    if (!record || isTerminal(record.summary.status)) return
    this.store.append(runId, events)
    this.emit('events', runId, events)
  }

  private workerDied(reason: string) {
    this.workerReady = false
    const lost = this.current
    this.current = undefined
    if (lost) this.record(lost.summary.id, [{ type: 'interrupted', time: now(), reason }])
    // Back off so a worker that cannot start does not spin the CPU.
    const delay = Math.min(30_000, 500 * 2 ** this.restarts++)
    setTimeout(() => this.worker.start(), delay).unref()
  }
}
