// The wire: one tagged union per direction, discriminated by `type`
// ("noun.verb", lower case); fields are snake_case on every wire, the
// trainer's included, so one name means one thing from Python to Svelte.
import type { ConfigIssue } from './config/validate.ts'

// ---- Run events: written by the trainer (or the server, for lifecycle facts
// the trainer cannot know), appended to runs/<id>/events.jsonl, sent to clients.

interface EventBase {
  /** Wall-clock time, seconds since the Unix epoch. */
  time: number
}
export interface QueuedEvent extends EventBase {
  type: 'queued'
  /** Runs ahead of this one; 0 means it starts next. */
  position: number
}
export interface StartedEvent extends EventBase {
  type: 'started'
  /** Optimizer steps this run will take. */
  total: number
  trainable_params: number
  device: string
  /** Set when the run continues a saved state: the step it starts after. */
  resumed_from?: number
  /** The optimizer's param groups, in the order step events list their LRs: ["unet", "unet, LoRA+ up", "text_encoder", ...]. */
  lr_groups?: string[]
  /** What method.start_from loaded: the file, its tensors loaded, this adapter's tensors it lacked (left at zero), and its tensors left out. */
  started_from?: { file: string; loaded: number; missing: number; unused: number; unused_examples: string[] }
  /** training.torch_compile's backend: the first step waits while it compiles the UNet. */
  compiling?: string
}
export interface StepEvent extends EventBase {
  type: 'step'
  /** 1-based optimizer step. */
  step: number
  total: number
  /** Mean training loss over this step's batch. */
  loss: number
  /** The learning rate this step's update was made with (before the scheduler advanced). */
  lr: number
  /** Seconds since training started (after setup), at the end of this step. */
  seconds: number
  /** The LR each optimizer param group used for this step (e.g. [unet, text encoder]). */
  lrs?: number[]
  /** For optimizers that pick their own step size (Prodigy, D-Adaptation: d × lr; Adafactor's relative step), the size they used, per group. */
  effective_lrs?: number[]
  /** L2 norm of all adapter gradients of this step, before the update. */
  grad_norm?: number
  /** Wall time of this optimizer step alone. */
  step_seconds?: number
  images_per_second?: number
  /** Resident memory of the trainer process. */
  rss_bytes?: number
  /** On CUDA: the most memory tensors have held so far. */
  cuda_max_allocated_bytes?: number
}
export interface SampleEvent extends EventBase {
  type: 'sample'
  /** Optimizer steps done when these were drawn (0: the base model). */
  step: number
  /** One per sample prompt; `file` is relative to the run folder (samples/000040_0.png). */
  images: { file: string; prompt: string; seed: number }[]
}
export interface EvalEvent extends EventBase {
  type: 'eval'
  step: number
  /** Fraction of the new concept's prompts whose samples the evaluator reads as that concept (0 to 1). */
  fidelity: number
  /** The base prompts' score now, divided by the base model's own score (1: nothing forgotten); absent when that score is 0. */
  retention?: number
  /** The base model's own score on the base prompts, which retention is relative to. */
  base_score: number
}
export interface FinishedEvent extends EventBase {
  type: 'finished'
  step: number
  seconds: number
  /** File name of the saved adapter inside the run folder. */
  adapter: string
}
export interface FailedEvent extends EventBase {
  type: 'failed'
  error: string
  /** The last step that completed, if any. */
  step?: number
}
export interface CancelledEvent extends EventBase {
  type: 'cancelled'
  step: number
}
export interface InterruptedEvent extends EventBase {
  type: 'interrupted'
  reason: string
}

export type RunEvent =
  | QueuedEvent
  | StartedEvent
  | StepEvent
  | SampleEvent
  | EvalEvent
  | FinishedEvent
  | FailedEvent
  | CancelledEvent
  | InterruptedEvent

export type RunStatus = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled' | 'interrupted'

const TERMINAL = new Set<RunStatus>(['finished', 'failed', 'cancelled', 'interrupted'])
export const isTerminal = (status: RunStatus) => TERMINAL.has(status)

/** A run's status is a fold over its events: the record, not a separate field, is the truth. */
export function statusAfter(status: RunStatus, event: RunEvent): RunStatus {
  switch (event.type) {
    case 'queued':
      return 'queued'
    case 'started':
    case 'step':
    case 'sample':
    case 'eval':
      return 'running'
    case 'finished':
    case 'failed':
    case 'cancelled':
    case 'interrupted':
      return event.type
    default:
      return assertNever(event)
  }
}

export const statusOf = (events: readonly RunEvent[]) => events.reduce<RunStatus>(statusAfter, 'queued')

/** What the run list shows of a run. */
export interface RunSummary {
  id: string
  notebook: string
  cell: string
  status: RunStatus
  /** Seconds since the Unix epoch. */
  created: number
}

// ---- Client -> server

export interface RunStartMessage {
  type: 'run.start'
  /** Notebook path relative to the project root, e.g. "lessons/welcome.md". */
  notebook: string
  /** The cell's id (from its info string, e.g. ```train id=first-lora). */
  cell: string
  /** The cell's YAML body, validated by the server. */
  config: string
}
export interface RunCancelMessage {
  type: 'run.cancel'
  run_id: string
}
export interface RunWatchMessage {
  type: 'run.watch'
  run_id: string
}
export interface RunUnwatchMessage {
  type: 'run.unwatch'
  run_id: string
}
export type ClientMessage = RunStartMessage | RunCancelMessage | RunWatchMessage | RunUnwatchMessage

// ---- Server -> client

export interface RunAcceptedMessage {
  type: 'run.accepted'
  run: RunSummary
  /** Valid but probably unintended settings (core/src/config/advice.ts); the run goes ahead. */
  warnings: ConfigIssue[]
}
export interface RunRejectedMessage {
  type: 'run.rejected'
  notebook: string
  cell: string
  issues: ConfigIssue[]
}
export interface RunEventsMessage {
  type: 'run.events'
  run_id: string
  /** Events in order. The first message after run.watch carries the history from events.jsonl. */
  events: RunEvent[]
}
export interface ErrorMessage {
  type: 'error'
  /** What was wrong with the client's message, in words a person can act on. */
  message: string
}
export type ServerMessage = RunAcceptedMessage | RunRejectedMessage | RunEventsMessage | ErrorMessage

export const CLIENT_MESSAGE_TYPES = ['run.start', 'run.cancel', 'run.watch', 'run.unwatch'] as const

/** Largest client message the server reads. */
export const MAX_MESSAGE_BYTES = 256 * 1024

/**
 * Decode a client message, checking every field, or explain what is wrong.
 * Used by the server at its edge; tested for round-trips in test/core.
 */
export function decodeClientMessage(raw: string): { ok: true; message: ClientMessage } | { ok: false; error: string } {
  let data: unknown
  try {
    data = JSON.parse(raw)
  } catch (e) {
    return { ok: false, error: `message is not valid JSON: ${(e as Error).message}` }
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, error: 'message must be a JSON object with a "type" field' }
  }
  const msg = data as Record<string, unknown>
  const fields: Record<ClientMessage['type'], string[]> = {
    'run.start': ['notebook', 'cell', 'config'],
    'run.cancel': ['run_id'],
    'run.watch': ['run_id'],
    'run.unwatch': ['run_id'],
  }
  // hasOwn, not `in`: a type like "constructor" must not reach Object.prototype.
  if (typeof msg.type !== 'string' || !Object.hasOwn(fields, msg.type)) {
    return { ok: false, error: `unknown message type ${JSON.stringify(msg.type)}; known: ${CLIENT_MESSAGE_TYPES.join(', ')}` }
  }
  for (const field of fields[msg.type as ClientMessage['type']]) {
    if (typeof msg[field] !== 'string') return { ok: false, error: `${msg.type}: field "${field}" must be a string` }
  }
  return { ok: true, message: msg as unknown as ClientMessage }
}

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`)
}
