// npm run measure:lessons -- [lessons/41-epochs-and-burning.md ...] [--cells ID,ID] [--seeds 0,1,2] [--model NAME|PATH] [--jobs N] [--steps N] [--out FILE]
// npm run measure:lessons -- --merge REPORT.json REPORT.json ... --out FILE
//
// Measures again what the lessons' tables report: every train cell of the
// given lessons (all of them by default), at its full length, once per seed,
// through the headless trainer, with the notebook's defaults merged in as the
// server merges them. --model runs the cells on another base model: the tool
// for replacing shapes-xl, whose every verdict was measured on the shipped
// weights. The report (JSON) holds each run's scores, loss and time, and for
// each cell the mean fidelity and retention over each quarter of the run,
// per seed and across seeds; a table of those is printed as runs finish.
// --cells measures only the named cells (one table's worth); --steps cuts
// every run short, to try the tool itself. --merge joins reports of the same
// model measured in parts (seed 0 one day, seeds 1 and 2 the next) into one.
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parse, stringify } from 'yaml'
import { mergeDefaults } from '../core/src/config/defaults.ts'
import { parseNotebook } from '../core/src/notebook.ts'
import { python, root, setup } from './setup.mjs'

export interface Score {
  step: number
  fidelity: number
  retention: number | null
}

export interface Quarter {
  steps: [number, number]
  fidelity: number | null
  retention: number | null
}

interface Job {
  lesson: string
  cell: string
  seed: number
  config: Record<string, any>
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null)

/** Mean fidelity and retention over each quarter of a run of `total` steps (the step-0 score, the base model's, left out). */
export function quarters(scores: Score[], total: number): Quarter[] {
  return [0, 1, 2, 3].map((q) => {
    const [from, to] = [Math.floor((q * total) / 4), Math.floor(((q + 1) * total) / 4)]
    const inside = scores.filter((s) => s.step > from && s.step <= to)
    return { steps: [from + 1, to], fidelity: mean(inside.map((s) => s.fidelity)), retention: mean(inside.flatMap((s) => (s.retention === null ? [] : [s.retention]))) }
  })
}

/** Every train cell of a lesson as the server would run it, once per seed. */
export function jobsOf(lessonPath: string, seeds: number[], overrides: { model?: string; steps?: number; threads: number; cells?: string[] }): Job[] {
  const notebook = parseNotebook(readFileSync(lessonPath, 'utf8'))
  return notebook.cells.flatMap((cell) => {
    if (cell.kind !== 'train' || (overrides.cells && !overrides.cells.includes(cell.id))) return []
    const merged = mergeDefaults(notebook.frontMatter, cell.source)
    if (!merged.ok) throw new Error(`${lessonPath}, cell ${cell.id}: ${merged.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`)
    return seeds.map((seed) => {
      const config = parse(merged.text) ?? {}
      // One thread a run unless the cell sets its own: a cell that compares thread counts is measured as written.
      config.training = { ...config.training, seed, cpu_threads: config.training?.cpu_threads ?? overrides.threads }
      if (overrides.model) config.model = overrides.model
      if (overrides.steps) config.training = { ...config.training, max_steps: overrides.steps, epochs: null }
      return { lesson: basename(lessonPath), cell: cell.id, seed, config }
    })
  })
}

function runOne(job: Job, runDir: string): Promise<void> {
  mkdirSync(runDir, { recursive: true })
  const configFile = join(runDir, 'cell.yaml')
  writeFileSync(configFile, stringify(job.config))
  const log = openSync(join(runDir, 'log.txt'), 'w') // the trainer's stderr: a config it refuses says why here
  return new Promise((done) => {
    const child = spawn(python, ['-m', 'trainer', 'train', configFile, '--run-dir', runDir], {
      cwd: root,
      stdio: ['ignore', 'ignore', log],
      env: { ...process.env, PYTHONPATH: root, HF_HUB_OFFLINE: '1' },
    })
    child.on('exit', () => {
      closeSync(log)
      done()
    })
  })
}

function outcome(runDir: string) {
  const file = join(runDir, 'events.jsonl')
  const events = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line)) : []
  if (!events.length) return { result: `failed before training: ${readFileSync(join(runDir, 'log.txt'), 'utf8').trim().split('\n').at(-1)}`, total: 0, scores: [], quarters: quarters([], 0), final_loss: null, seconds: null }
  const last = events.at(-1)
  const steps = events.filter((e) => e.type === 'step')
  const scores: Score[] = events.filter((e) => e.type === 'eval').map((e) => ({ step: e.step, fidelity: e.fidelity, retention: e.retention }))
  const total = events.find((e) => e.type === 'started')?.total ?? steps.length
  return {
    result: last?.type === 'failed' ? `failed: ${last.error}` : last?.type,
    total,
    scores,
    quarters: quarters(scores, total),
    final_loss: steps.at(-1)?.loss ?? null,
    seconds: last?.seconds ?? null,
  }
}

/** Reports of one model's cells, measured in parts, as one report: every run, the seeds joined, the cells summed up again. */
export function merge(reports: { model: string; seeds: number[]; started: string; runs: any[] }[]) {
  const models = new Set(reports.map((r) => r.model))
  if (models.size !== 1) throw new Error(`--merge: the reports measured different models (${[...models].join(', ')}); merge one model's reports`)
  const runs = reports.flatMap((r) => r.runs)
  const twice = runs.find((run, i) => runs.findIndex((o) => o.lesson === run.lesson && o.cell === run.cell && o.seed === run.seed) !== i)
  if (twice) throw new Error(`--merge: ${twice.lesson} ${twice.cell} seed ${twice.seed} is in more than one report`)
  const seeds = [...new Set(reports.flatMap((r) => r.seeds))].sort((a, b) => a - b)
  return { model: reports[0].model, seeds, started: reports.map((r) => r.started).sort()[0], runs, cells: summarize(runs) }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { cells: { type: 'string' }, seeds: { type: 'string', default: '0,1,2' }, model: { type: 'string' }, jobs: { type: 'string', default: '1' }, steps: { type: 'string' }, out: { type: 'string' }, merge: { type: 'boolean' } },
  })
  const fromCwd = (path: string) => resolve(process.env.INIT_CWD ?? process.cwd(), path)
  if (values.merge) {
    if (!values.out || positionals.length < 2) throw new Error('--merge: give two or more reports and --out FILE')
    const merged = merge(positionals.map((p) => JSON.parse(readFileSync(fromCwd(p), 'utf8'))))
    writeFileSync(fromCwd(values.out), JSON.stringify(merged, null, 2) + '\n')
    console.log(`wrote ${fromCwd(values.out)}: ${merged.runs.length} runs, seeds ${merged.seeds.join(', ')}`)
    return
  }
  setup({ client: false })
  const lessons = positionals.length ? positionals.map(fromCwd) : readdirSync(join(root, 'lessons')).filter((n) => n.endsWith('.md')).sort().map((n) => join(root, 'lessons', n))
  const seeds = values.seeds!.split(',').map(Number)
  const jobs = Number(values.jobs)
  // A path from where npm was run, or else a model's name under models/, as a cell's model field takes it.
  const asPath = values.model && fromCwd(values.model)
  const model = asPath && existsSync(asPath) ? asPath : values.model
  const cells = values.cells?.split(',')
  const queue = lessons.flatMap((lesson) => jobsOf(lesson, seeds, { model, steps: values.steps ? Number(values.steps) : undefined, threads: 1, cells }))
  const unknown = cells?.filter((id) => !queue.some((job) => job.cell === id))
  if (unknown?.length) throw new Error(`--cells: no train cell ${unknown.join(', ')} in ${lessons.map((l) => basename(l)).join(', ')}`)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const folder = join(root, 'runs', `measure-${stamp}`)
  const report: Record<string, any> = { model: model ?? 'shapes-xl', seeds, started: new Date().toISOString(), runs: [] as any[] }
  console.log(`measure: ${queue.length} runs (${lessons.length} lessons, seeds ${seeds.join(', ')}), ${jobs} at a time, in ${folder}`)

  let next = 0
  const worker = async () => {
    while (next < queue.length) {
      const job = queue[next++]
      const runDir = join(folder, job.lesson.replace(/\.md$/, ''), `${job.cell}-seed${job.seed}`)
      await runOne(job, runDir)
      const found = outcome(runDir)
      report.runs.push({ lesson: job.lesson, cell: job.cell, seed: job.seed, ...found })
      const q = found.quarters.map((x) => `${x.fidelity?.toFixed(2) ?? '-'}/${x.retention?.toFixed(2) ?? '-'}`).join('  ')
      console.log(`${job.lesson} ${job.cell} seed ${job.seed}: ${found.result}; fidelity/retention by quarter ${q}; final loss ${found.final_loss?.toFixed(4) ?? '-'}`)
    }
  }
  await Promise.all(Array.from({ length: jobs }, worker))
  report.cells = summarize(report.runs)
  const out = values.out ? fromCwd(values.out) : join(folder, 'report.json')
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
  console.log(`wrote ${out}`)
}

/** Per lesson and cell: each quarter's fidelity and retention averaged over the seeds that scored it. */
export function summarize(runs: { lesson: string; cell: string; quarters: Quarter[] }[]) {
  const cells = new Map<string, Quarter[][]>()
  for (const run of runs) cells.set(`${run.lesson}#${run.cell}`, [...(cells.get(`${run.lesson}#${run.cell}`) ?? []), run.quarters])
  return Object.fromEntries(
    [...cells].map(([key, perSeed]) => [
      key,
      perSeed[0].map((q, i) => {
        const over = (pick: (x: Quarter) => number | null) => mean(perSeed.map((s) => pick(s[i])).filter((v): v is number => v !== null))
        return { steps: q.steps, fidelity: over((x) => x.fidelity), retention: over((x) => x.retention) }
      }),
    ]),
  )
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main()
