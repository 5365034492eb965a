// A train cell: its YAML (edited in the browser), the issues with it, and the
// run it shows, which is the latest run of this cell, so a reload or a second
// tab re-attaches to a run in progress.
import { parseConfig, type ConfigIssue } from '../../../../core/src/config/validate.ts'
import type { CodeCell } from '../../../../core/src/notebook.ts'
import { isTerminal, type RunSummary } from '../../../../core/src/protocol.ts'
import { toSdScriptsCommand, toSdScriptsToml } from '../../../../core/src/interop/sd-scripts.ts'
import { listRuns, runConfig } from '../../api.ts'
import type { Connection } from '../../state/connection.svelte.ts'
import { RunState } from '../../state/run.svelte.ts'
import type { CellContext, CellState } from '../kind.ts'

export class TrainCellState implements CellState {
  readonly id: string
  readonly notebook: string
  source = $state('')
  run = $state.raw<RunState | undefined>()
  /** This cell's runs, newest first: any of them can be shown. */
  history = $state.raw<RunSummary[]>([])
  /** The loss chart's smoothing weight; undefined: the one that suits the run's length. */
  smoothing = $state<number | undefined>()
  /** What the last copy button put on the clipboard, or why it could not. */
  copied = $state<string | undefined>()
  /** run.start is sent and the server has not answered yet. */
  starting = $state(false)
  /** Why the latest runs could not be listed, or the last run could not start, if so. */
  error = $state<string | undefined>()

  /** The server's verdict on the last text it rejected; shown until the text changes. */
  #rejected = $state.raw<{ source: string; issues: ConfigIssue[] } | undefined>()

  /** Instant feedback while typing; the server validates again on run.start. */
  #local = $derived(parseConfig(this.source))
  issues = $derived(mergeIssues(this.#local.ok ? [] : this.#local.issues, this.#rejected?.source === this.source ? this.#rejected.issues : []))
  /** Valid but probably unintended settings (core/src/config/advice.ts); they never block a run. */
  warnings = $derived(this.#local.ok ? this.#local.warnings : [])
  active = $derived(this.run !== undefined && !isTerminal(this.run.status))
  latestRun = $derived(this.run && { id: this.run.summary.id, status: this.run.status })
  canRun = $derived(!this.starting && !this.active)

  readonly #connection: Connection
  readonly #stopListening: () => void
  #unwatch: (() => void) | undefined
  #disposed = false

  constructor(cell: CodeCell, context: CellContext) {
    this.id = cell.id
    this.notebook = context.notebook
    this.source = cell.source
    this.#connection = context.connection
    this.#stopListening = context.connection.listenToCell(this.notebook, this.id, {
      accepted: (run) => {
        this.starting = false
        this.#rejected = undefined
        this.history = [run, ...this.history]
        this.#show(run, false) // the sender of run.start is watching it already
      },
      rejected: (issues) => {
        this.starting = false
        this.#rejected = { source: this.source, issues }
      },
      failed: (message) => {
        this.starting = false
        this.error = `Could not start: ${message}`
      },
    })
    this.#reattach()
  }

  start() {
    if (!this.canRun) return
    this.starting = true
    this.error = undefined
    this.#connection.start(this.notebook, this.id, this.source)
  }

  cancel() {
    if (this.run && this.active) this.#connection.cancel(this.run.summary.id)
  }

  /** Show one of this cell's past runs (its whole history, then its live tail if it is still going). */
  showRun(id: string) {
    const summary = this.history.find((r) => r.id === id)
    if (summary && summary.id !== this.run?.summary.id) this.#show(summary, true)
  }

  /** Put the shown run's config on the clipboard as kohya sd-scripts takes it. */
  async copyAs(format: 'command' | 'toml') {
    if (!this.run) return
    try {
      const { config } = await runConfig(this.run.summary.id)
      await navigator.clipboard.writeText(format === 'command' ? toSdScriptsCommand(config) : toSdScriptsToml(config))
      this.copied = format === 'command' ? 'Copied the sd-scripts command line.' : 'Copied the sd-scripts TOML config.'
    } catch (error) {
      this.copied = `Could not copy: ${(error as Error).message}`
    }
  }

  dispose() {
    this.#disposed = true
    this.#stopListening()
    this.#unwatch?.()
  }

  async #reattach() {
    try {
      const runs = await listRuns(this.notebook, this.id)
      if (this.#disposed) return
      // A run started from this tab while we waited is newer than anything listed.
      this.history = [...this.history, ...runs.filter((r) => !this.history.some((h) => h.id === r.id))]
      if (runs[0] && !this.run) this.#show(runs[0], true)
    } catch (error) {
      this.error = `Could not load this cell's runs: ${(error as Error).message}`
    }
  }

  #show(summary: RunSummary, askHistory: boolean) {
    this.#unwatch?.()
    const run = new RunState(summary)
    this.run = run
    this.copied = undefined
    this.#unwatch = this.#connection.watch(summary.id, run, askHistory)
  }
}

/** Local and server issues often say the same thing; show each once. */
function mergeIssues(local: ConfigIssue[], server: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set(local.map((i) => `${i.path}|${i.message}`))
  return [...local, ...server.filter((i) => !seen.has(`${i.path}|${i.message}`))]
}
