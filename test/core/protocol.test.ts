import { describe, expect, it } from 'vitest'
import { decodeClientMessage, statusOf, type ClientMessage, type RunEvent } from '../../core/src/index.ts'

describe('client messages', () => {
  const messages: ClientMessage[] = [
    { type: 'run.start', notebook: 'lessons/welcome.md', cell: 'first-lora', config: 'optimizer:\n  lr: 0.001\n' },
    { type: 'run.cancel', run_id: '20261126-120000-abcdef' },
    { type: 'run.watch', run_id: '20261126-120000-abcdef' },
    { type: 'run.unwatch', run_id: '20261126-120000-abcdef' },
  ]
  it.each(messages)('$type round-trips through JSON', (message) => {
    expect(decodeClientMessage(JSON.stringify(message))).toEqual({ ok: true, message })
  })

  it('explains malformed JSON', () => {
    const result = decodeClientMessage('{"type": "run.start",')
    expect(result.ok === false && result.error).toMatch(/not valid JSON/)
  })

  it('explains an unknown type and lists the known ones', () => {
    const result = decodeClientMessage('{"type":"run.explode"}')
    expect(result.ok === false && result.error).toBe(
      'unknown message type "run.explode"; known: run.start, run.cancel, run.watch, run.unwatch',
    )
  })

  it('names a field of the wrong type', () => {
    const result = decodeClientMessage('{"type":"run.start","notebook":"lessons/welcome.md","cell":3,"config":""}')
    expect(result.ok === false && result.error).toBe('run.start: field "cell" must be a string')
  })

  it('rejects JSON that is not an object', () => {
    for (const raw of ['[]', 'null', '"run.start"', '7']) expect(decodeClientMessage(raw).ok).toBe(false)
  })
})

describe('run status', () => {
  const t = 1
  it('folds events into a status', () => {
    const events: RunEvent[] = [
      { type: 'queued', time: t, position: 0 },
      { type: 'started', time: t, total: 2, trainable_params: 10, device: 'cpu' },
      { type: 'step', time: t, step: 1, total: 2, loss: 0.5, lr: 1e-3, seconds: 0.1 },
    ]
    expect(statusOf(events)).toBe('running')
    expect(statusOf([...events, { type: 'cancelled', time: t, step: 1 }])).toBe('cancelled')
    expect(statusOf([...events, { type: 'finished', time: t, step: 2, seconds: 1, adapter: 'adapter.safetensors' }])).toBe('finished')
  })
})

describe('found by the fuzzer', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('rejects the inherited property name %s as a type', (type) => {
    const result = decodeClientMessage(JSON.stringify({ type }))
    expect(result.ok === false && result.error).toMatch(/unknown message type/)
  })
})
