// One run as the client knows it: the events received so far, and everything
// drawn from them. Status is a fold over the events (statusOf), never a field
// of its own, so a reattached tab and the tab that started the run agree.
import { statusOf, type FailedEvent, type FinishedEvent, type InterruptedEvent, type RunEvent, type RunStatus, type RunSummary, type StartedEvent } from '../../../core/src/protocol.ts'
import {
  effectiveLrSeries,
  evalSeries,
  finalMetrics,
  gradNormSeries,
  lossSeries,
  lrGroupSeries,
  lrSeries,
  progressOf,
  sampleFrames,
  smoothingFor,
  smoothSeries,
} from '../../../core/src/series/index.ts'
import { adapterInfo } from '../api.ts'
import type { RunListener } from './connection.svelte.ts'

export class RunState implements RunListener {
  readonly summary: RunSummary
  /** The run list's status, shown until the first events arrive. */
  readonly #listedStatus: RunStatus = 'queued'
  /** Replaced, never mutated: a batch makes one new array, so derivations run once per batch. */
  events = $state.raw<RunEvent[]>([])
  /** Size of the saved adapter, asked of the server once the run has finished. */
  adapterBytes = $state<number | undefined>()

  status = $derived(this.events.length ? statusOf(this.events) : this.#listedStatus)
  progress = $derived(progressOf(this.events))
  loss = $derived(lossSeries(this.events))
  /** The smoothing weight that suits this run's length; a slider may override it. */
  defaultSmoothing = $derived(smoothingFor(this.progress.total ?? this.loss.length))
  lossSmooth = $derived(smoothSeries(this.loss, this.defaultSmoothing))
  lr = $derived(lrSeries(this.events))
  lrGroups = $derived(lrGroupSeries(this.events))
  effectiveLrs = $derived(effectiveLrSeries(this.events))
  gradNorm = $derived(gradNormSeries(this.events))
  evals = $derived(evalSeries(this.events))
  samples = $derived(sampleFrames(this.events))
  metrics = $derived(finalMetrics(this.events))
  started = $derived(this.#last<StartedEvent>('started'))
  finished = $derived(this.#last<FinishedEvent>('finished'))
  failed = $derived(this.#last<FailedEvent>('failed'))
  interrupted = $derived(this.#last<InterruptedEvent>('interrupted'))
  /** Runs ahead of this one while it waits. */
  queuePosition = $derived(this.#last<RunEvent & { type: 'queued' }>('queued')?.position)

  constructor(summary: RunSummary) {
    this.summary = summary
    this.#listedStatus = summary.status
  }

  receive(events: RunEvent[], replace: boolean) {
    this.events = replace ? events : [...this.events, ...events]
    if (this.adapterBytes === undefined && events.some((e) => e.type === 'finished')) {
      // The size is a nicety of the summary: without it the summary just leaves it out.
      adapterInfo(this.summary.id).then((info) => (this.adapterBytes = info.bytes), () => undefined)
    }
  }

  #last<E extends RunEvent>(type: E['type']): E | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].type === type) return this.events[i] as E
    return undefined
  }
}
