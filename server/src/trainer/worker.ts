// Supervises the long-lived Python trainer worker (python -m trainer worker).
// Commands go to its stdin; events come back on file descriptor 3, a channel
// of its own, because libraries print freely to stdout/stderr. Those two
// streams are kept as the worker's own log, never parsed.
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import type { RunEvent, TrainConfig } from '../../../core/src/index.ts'

export type WorkerOutput =
  | { type: 'ready' }
  | { type: 'idle' }
  | { type: 'event'; run_id: string; event: RunEvent }

export type WorkerCommand =
  | { type: 'run'; run_id: string; run_dir: string; config: TrainConfig }
  | { type: 'cancel'; run_id: string }
  | { type: 'shutdown' }

export interface WorkerOptions {
  /** argv of the worker, e.g. ['.venv/bin/python', '-m', 'trainer', 'worker']. */
  command: string[]
  cwd: string
  env?: NodeJS.ProcessEnv
  /** Where the worker's stdout/stderr go (a function so the caller picks a log). */
  log: (text: string) => void
}

interface WorkerEvents {
  ready: []
  idle: []
  event: [runId: string, event: RunEvent]
  exit: [reason: string]
}

export class TrainerWorker extends EventEmitter<WorkerEvents> {
  private child?: ChildProcess
  private stopping = false

  constructor(private options: WorkerOptions) {
    super()
  }

  start(): void {
    const [cmd, ...args] = this.options.command
    const child = spawn(cmd, args, {
      cwd: this.options.cwd,
      env: { ...process.env, PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1', ...this.options.env },
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    })
    this.child = child
    child.stdout!.on('data', (b: Buffer) => this.options.log(b.toString()))
    child.stderr!.on('data', (b: Buffer) => this.options.log(b.toString()))
    child.stdin!.on('error', () => {}) // a dead worker is reported by 'exit'
    const channel = createInterface({ input: child.stdio[3] as Readable })
    channel.on('line', (line) => this.receive(line))
    child.on('error', (e) => this.options.log(`trainer worker could not start: ${e.message}\n`))
    child.on('exit', (code, signal) => {
      this.child = undefined
      if (!this.stopping) this.emit('exit', signal ? `trainer worker killed by ${signal}` : `trainer worker exited with code ${code}`)
    })
  }

  send(command: WorkerCommand): void {
    this.child?.stdin?.write(JSON.stringify(command) + '\n')
  }

  get running(): boolean {
    return this.child !== undefined
  }

  async stop(): Promise<void> {
    const child = this.child
    if (!child) return
    this.stopping = true
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    this.send({ type: 'shutdown' })
    child.stdin?.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  private receive(line: string) {
    let output: WorkerOutput
    try {
      output = JSON.parse(line)
    } catch {
      this.options.log(`trainer channel: ignored a line that is not JSON: ${line.slice(0, 200)}\n`)
      return
    }
    switch (output.type) {
      case 'ready':
        return void this.emit('ready')
      case 'idle':
        return void this.emit('idle')
      case 'event':
        return void this.emit('event', output.run_id, output.event)
      default:
        this.options.log(`trainer channel: unknown output ${line.slice(0, 200)}\n`)
    }
  }
}
