// One run as the client knows it: the events received so far, and everything
// drawn from them. Status is a fold over the events (statusOf), never a field
// of its own, so a reattached tab and the tab that started the run agree.
import { statusOf, type FailedEvent, type FinishedEvent, type InterruptedEvent, type RunEvent, type RunStatus, type RunSummary, type StartedEvent } from '../../../core/src/protocol.ts'
import { lossSeries, lrSeries, progressOf, smoothingFor, smoothSeries } from '../../../core/src/series/index.ts'
import type { RunListener } from './connection.svelte.ts'

export class RunState implements RunListener {
  readonly summary: RunSummary
  /** The run list's status, shown until the first events arrive. */
  readonly #listedStatus: RunStatus = 'queued'
  /** Replaced, never mutated: a batch makes one new array, so derivations run once per batch. */
  events = $state.raw<RunEvent[]>([])

  status = $derived(this.events.length ? statusOf(this.events) : this.#listedStatus)
  progress = $derived(progressOf(this.events))
  loss = $derived(lossSeries(this.events))
  lossSmooth = $derived(smoothSeries(this.loss, smoothingFor(this.progress.total ?? this.loss.length)))
  lr = $derived(lrSeries(this.events))
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
  }

  #last<E extends RunEvent>(type: E['type']): E | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].type === type) return this.events[i] as E
    return undefined
  }
}
