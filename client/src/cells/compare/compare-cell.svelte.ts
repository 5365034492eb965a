// A compare cell: the latest run of each named train cell of this notebook,
// loaded from the run store over HTTP (events and resolved config), overlaid
// in charts and set side by side in tables. It loads again when a run of one of
// them ends on this page; Refresh picks up runs made elsewhere.
import type { CodeCell } from '../../../../core/src/notebook.ts'
import { isTerminal } from '../../../../core/src/protocol.ts'
import { configRows, formatDuration, parseCompareCell } from '../../../../core/src/series/index.ts'
import { listRuns, runConfig, runEvents, type RunConfig } from '../../api.ts'
import { seriesColor, type ChartLine } from '../../charts/frame.ts'
import { RunState } from '../../state/run.svelte.ts'
import type { CellContext, CellState, LatestRun } from '../kind.ts'

export interface Compared {
  cell: string
  color: string
  run?: RunState
  config?: RunConfig['config']
  /** Why this cell has nothing to show. */
  missing?: string
}

const percent = (v: number | undefined) => (v === undefined ? '—' : `${Math.round(v * 100)}%`)
const METRICS: [string, (run: RunState) => string][] = [
  ['final loss (smoothed)', (run) => run.metrics.finalLoss?.toFixed(4) ?? '—'],
  ['steps', (run) => String(run.metrics.steps)],
  ['time', (run) => formatDuration(run.metrics.seconds)],
  ['trainable parameters', (run) => run.metrics.trainableParams?.toLocaleString('en') ?? '—'],
  ['adapter file', (run) => (run.adapterBytes === undefined ? '—' : `${(run.adapterBytes / 1024).toFixed(1)} kB`)],
  ['fidelity', (run) => percent(run.metrics.fidelity)],
  ['retention', (run) => percent(run.metrics.retention)],
  ['status', (run) => run.status],
]

export class CompareCellState implements CellState {
  readonly id: string
  readonly notebook: string
  source = $state('')
  entries = $state.raw<Compared[]>([])
  loading = $state(false)
  /** The config table shows only the fields that differ unless asked for all. */
  showAllFields = $state(false)

  #parsed = $derived(parseCompareCell(this.source))
  issues = $derived(this.#parsed.ok ? [] : this.#parsed.issues)
  cells = $derived(this.#parsed.ok ? this.#parsed.cells : [])

  shown = $derived(this.entries.filter((e): e is Compared & { run: RunState } => e.run !== undefined))
  total = $derived(Math.max(1, ...this.shown.map((e) => e.run.progress.total ?? e.run.loss.length)))
  loss = $derived(this.#lines((run) => run.lossSmooth))
  lr = $derived(this.#lines((run) => run.lr))
  fidelity = $derived(this.#lines((run) => run.evals.fidelity))
  retention = $derived(this.#lines((run) => run.evals.retention))
  rows = $derived(configRows(this.shown.map((e) => e.config ?? {})))
  /** The final numbers of each shown run, one row per measure. */
  metrics = $derived(
    METRICS.map(([label, value]) => ({ label, values: this.shown.map((e) => value(e.run)) })),
  )

  readonly #context: CellContext
  /** Runs of the listed cells in progress on this page. */
  activeRuns = $derived(
    this.cells
      .map((cell) => this.#context.latestRun(cell))
      .filter((run): run is LatestRun => run !== undefined && !isTerminal(run.status))
      .map((run) => run.id),
  )
  #active = new Set<string>()

  #generation = 0

  constructor(cell: CodeCell, context: CellContext) {
    this.id = cell.id
    this.notebook = context.notebook
    this.source = cell.source
    this.#context = context
  }

  /** Given the runs now in progress: when one that was has ended, load again, so its final numbers show. */
  follow(active: string[]) {
    const ended = [...this.#active].some((id) => !active.includes(id))
    this.#active = new Set(active)
    if (ended) this.load()
  }

  /** Load the latest run of every listed cell; a later call wins over an earlier one still loading. */
  async load() {
    const generation = ++this.#generation
    const cells = this.cells
    this.loading = true
    const entries = await Promise.all(cells.map((cell, i) => this.#latest(cell, seriesColor(i))))
    if (generation !== this.#generation) return
    this.entries = entries
    this.loading = false
  }

  async #latest(cell: string, color: string): Promise<Compared> {
    try {
      const [latest] = await listRuns(this.notebook, cell)
      if (!latest) return { cell, color, missing: `no runs of "${cell}" yet: run that train cell first` }
      const [events, stored] = await Promise.all([runEvents(latest.id), runConfig(latest.id)])
      const run = new RunState(latest)
      run.receive(events, true)
      return { cell, color, run, config: stored.config }
    } catch (error) {
      return { cell, color, missing: `could not load "${cell}": ${(error as Error).message}` }
    }
  }

  #lines(points: (run: RunState) => ChartLine['points']): ChartLine[] {
    return this.shown.map((e) => ({ label: e.cell, color: e.color, points: points(e.run) }))
  }
}
