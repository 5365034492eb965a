// One run as the client knows it: everything drawn from the events received
// so far. Status is a fold over the events (statusAfter), never a field of its
// own, so a reattached tab and the tab that started the run agree.
import type { RunEvent, RunStatus, RunSummary } from '../../../core/src/protocol.ts'
import { emptyView, finalMetrics, foldEvents, progressOf, smoothingFor, Smoother, type RunView } from '../../../core/src/series/index.ts'
import { adapterInfo, type SavedAdapter, type WordFile } from '../api.ts'
import type { RunListener } from './connection.svelte.ts'

export class RunState implements RunListener {
  readonly summary: RunSummary
  /** The run list's status, shown until the first events arrive. */
  readonly #listedStatus: RunStatus = 'queued'
  /**
   * Everything drawn of the run, folded from its events: each batch appends,
   * nothing is re-derived from the start. Its per-step series grow in place,
   * so they are read through getters below: a reader depends on `view`, which
   * is a new object after every batch, not on those arrays, which stay the same.
   */
  view = $state.raw<RunView>(emptyView())
  /** Size of the saved adapter, asked of the server once the run has finished. */
  adapterBytes = $state<number | undefined>()
  /** The adapters saved along the way (training.save_every), by step; asked with adapterBytes. */
  savedAdapters = $state.raw<SavedAdapter[]>([])
  /** The trained words' own embedding files (method.embedding_words); asked with adapterBytes. */
  wordFiles = $state.raw<WordFile[]>([])
  #smoother = new Smoother()
  /** Whether any event came: until then the run list's status shows. */
  #received = $state(false)

  status = $derived(this.#received ? this.view.status : this.#listedStatus)
  progress = $derived(progressOf(this.view))
  /** The smoothing weight that suits this run's length; a slider may override it. */
  defaultSmoothing = $derived(smoothingFor(this.view.total ?? this.view.loss.length))
  metrics = $derived(finalMetrics(this.view, this.lossSmooth))
  get loss() { return this.view.loss }
  get lossSmooth() { return this.#smoother.smooth(this.view.loss, this.defaultSmoothing) }
  get lr() { return this.view.lr }
  get lrGroups() { return this.view.lrGroups }
  get effectiveLrs() { return this.view.effectiveLrs }
  get gradNorm() { return this.view.gradNorm }
  get evals() { return { fidelity: this.view.fidelity, retention: this.view.retention } }
  get samples() { return this.view.samples }
  started = $derived(this.view.last.started)
  finished = $derived(this.view.last.finished)
  failed = $derived(this.view.last.failed)
  interrupted = $derived(this.view.last.interrupted)
  /** Runs ahead of this one while it waits. */
  queuePosition = $derived(this.view.last.queued?.position)

  constructor(summary: RunSummary) {
    this.summary = summary
    this.#listedStatus = summary.status
  }

  receive(events: RunEvent[], replace: boolean) {
    this.view = foldEvents(replace ? emptyView() : this.view, events)
    this.#received = events.length > 0 || (!replace && this.#received)
    if (this.adapterBytes === undefined && events.some((e) => e.type === 'finished')) {
      // The size is a nicety of the summary: without it the summary just leaves it out.
      adapterInfo(this.summary.id).then((info) => {
        this.adapterBytes = info.bytes
        this.savedAdapters = info.saved
        this.wordFiles = info.words
      }, () => undefined)
    }
  }
}
