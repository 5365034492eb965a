// The run store: one folder per run under runs/, the record of everything a
// run did. config.json is written before the folder appears (temp dir + rename),
// so a crash never leaves a half-created run; events.jsonl is append-only.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { isTerminal, statusAfter, type RunEvent, type RunSummary, type TrainConfig } from '../../../core/src/index.ts'

export interface RunRecord {
  summary: RunSummary
  dir: string
}

export interface StoredConfig {
  id: string
  notebook: string
  cell: string
  created: number
  /** The YAML the user wrote, kept verbatim. */
  source: string
  /** The config after defaults: exactly what the trainer received. */
  config: TrainConfig
}

export class RunStore {
  private runs = new Map<string, RunRecord>()

  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true })
    this.load()
  }

  /** Create runs/<id>/ with its resolved config, atomically. */
  create(notebook: string, cell: string, source: string, config: TrainConfig): RunRecord {
    const created = Date.now() / 1000
    const id = newRunId(new Date(created * 1000))
    const pending = join(this.root, `.pending-${id}`)
    const dir = join(this.root, id)
    mkdirSync(pending)
    try {
      const stored: StoredConfig = { id, notebook, cell, created, source, config }
      writeFileSync(join(pending, 'config.json'), JSON.stringify(stored, null, 2) + '\n')
      writeFileSync(join(pending, 'events.jsonl'), '')
      renameSync(pending, dir)
    } catch (e) {
      rmSync(pending, { recursive: true, force: true })
      throw e
    }
    const record = { summary: { id, notebook, cell, status: 'queued' as const, created }, dir }
    this.runs.set(id, record)
    return record
  }

  get(id: string): RunRecord | undefined {
    return this.runs.get(id)
  }

  /** Runs of one cell of one notebook, newest first. */
  list(filter: { notebook?: string; cell?: string } = {}): RunSummary[] {
    return [...this.runs.values()]
      .map((r) => r.summary)
      .filter((s) => (!filter.notebook || s.notebook === filter.notebook) && (!filter.cell || s.cell === filter.cell))
      .sort((a, b) => b.created - a.created || b.id.localeCompare(a.id))
  }

  append(id: string, events: RunEvent[]): void {
    const record = this.runs.get(id)
    if (!record || events.length === 0) return
    appendFileSync(join(record.dir, 'events.jsonl'), events.map((e) => JSON.stringify(e) + '\n').join(''))
    record.summary.status = events.reduce(statusAfter, record.summary.status)
  }

  config(id: string): StoredConfig {
    const record = this.runs.get(id)
    if (!record) throw new Error(`no run with id "${id}"`)
    return JSON.parse(readFileSync(join(record.dir, 'config.json'), 'utf8'))
  }

  events(id: string): RunEvent[] {
    const record = this.runs.get(id)
    return record ? readEvents(join(record.dir, 'events.jsonl')).events : []
  }

  /** Runs that were active when the server last stopped can never finish: say so in their record. */
  interruptOrphans(reason: string): string[] {
    const orphans = [...this.runs.values()].filter((r) => !isTerminal(r.summary.status))
    for (const r of orphans) this.append(r.summary.id, [{ type: 'interrupted', time: Date.now() / 1000, reason }])
    return orphans.map((r) => r.summary.id)
  }

  private load() {
    for (const name of readdirSync(this.root)) {
      const dir = join(this.root, name)
      if (name.startsWith('.pending-')) {
        rmSync(dir, { recursive: true, force: true }) // a create that never finished
        continue
      }
      const configFile = join(dir, 'config.json')
      if (!existsSync(configFile)) continue
      try {
        const stored = JSON.parse(readFileSync(configFile, 'utf8')) as StoredConfig
        const { events, torn } = readEvents(join(dir, 'events.jsonl'))
        if (torn) {
          // Cut the fragment off, so the next append starts on a line of its own.
          const text = readFileSync(join(dir, 'events.jsonl'), 'utf8')
          truncateSync(join(dir, 'events.jsonl'), Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)))
          console.warn(`runs/${name}/events.jsonl: dropped a torn last line (its writer was killed mid-write)`)
        }
        const status = events.reduce(statusAfter, 'queued' as RunSummary['status'])
        this.runs.set(stored.id, {
          summary: { id: stored.id, notebook: stored.notebook, cell: stored.cell, status, created: stored.created },
          dir,
        })
      } catch (e) {
        console.warn(`runs/${name}: skipped, config.json unreadable (${(e as Error).message})`)
      }
    }
  }
}

/** Read an events.jsonl, tolerating a torn last line (a writer killed mid-line). */
export function readEvents(file: string): { events: RunEvent[]; torn: boolean } {
  if (!existsSync(file)) return { events: [], torn: false }
  const lines = readFileSync(file, 'utf8').split('\n')
  const events: RunEvent[] = []
  let torn = false
  lines.forEach((line, i) => {
    if (!line.trim()) return
    try {
      events.push(JSON.parse(line))
    } catch {
      if (i >= lines.length - 2) torn = true
      else throw new Error(`events.jsonl line ${i + 1} is not JSON`)
    }
  })
  return { events, torn }
}

function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${stamp}-${randomBytes(3).toString('hex')}`
}
