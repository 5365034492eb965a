import { describe, expect, it } from 'vitest'
import type { RunEvent } from '../../core/src/protocol.ts'
import { foldEvents, formatDuration, progressOf, smoothingFor, Smoother, smoothSeries, viewOf, emptyView } from '../../core/src/series/index.ts'

const step = (n: number, total: number, seconds: number, loss = 1 / n, lr = 1e-3): RunEvent => ({
  type: 'step',
  time: 1000 + seconds,
  step: n,
  total,
  loss,
  lr,
  seconds,
})
const started = (total: number): RunEvent => ({ type: 'started', time: 1000, total, trainable_params: 1234, device: 'cpu' })

describe('loss and lr series', () => {
  it('takes one point per step event and ignores lifecycle events', () => {
    const events = [{ type: 'queued', time: 0, position: 0 } as RunEvent, started(3), step(1, 3, 1, 0.5, 1e-4), step(2, 3, 2, 0.25, 2e-4)]
    expect(viewOf(events).loss).toEqual([
      { step: 1, value: 0.5 },
      { step: 2, value: 0.25 },
    ])
    expect(viewOf(events).lr.map((p) => p.value)).toEqual([1e-4, 2e-4])
  })
})

describe('foldEvents', () => {
  const events: RunEvent[] = [
    { type: 'queued', time: 0, position: 1 },
    started(60),
    ...Array.from({ length: 60 }, (_, i) => ({ ...step(i + 1, 60, (i + 1) * 0.1), lrs: [1e-3, 1e-4], effective_lrs: [2e-3], grad_norm: i })),
    { type: 'eval', time: 0, step: 30, fidelity: 0.5, retention: 0.9, base_score: 0.8 },
    { type: 'sample', time: 0, step: 30, images: [{ file: 'samples/a.png', prompt: 'p', seed: 0 }] },
    { type: 'finished', time: 0, step: 60, seconds: 6.5, adapter: 'adapter.safetensors' },
  ]
  it('gives the same view whether the events come at once or in batches of any size', () => {
    const whole = viewOf(events)
    for (const size of [1, 7, 25]) {
      let view = emptyView()
      for (let i = 0; i < events.length; i += size) view = foldEvents(view, events.slice(i, i + size))
      expect(view).toEqual(whole)
    }
    expect(whole.status).toBe('finished')
    expect(whole.recent.length).toBe(21)
    expect(whole.lrGroups.map((l) => [l.label, l.points.length])).toEqual([['unet', 60], ['text encoder', 60]])
  })
  it('grows the same arrays and returns a new view object, so readers see a change without a copy', () => {
    const before = viewOf(events.slice(0, 10))
    const loss = before.loss
    const after = foldEvents(before, events.slice(10, 11))
    expect(after).not.toBe(before)
    expect(after.loss).toBe(loss)
    expect(loss.length).toBe(9)
    expect(foldEvents(after, [])).toBe(after)
    // Scores and frames are few: copied when they grow, so readers that compare by identity see them change.
    const samples = after.samples
    expect(foldEvents(after, events.slice(-2, -1)).samples).not.toBe(samples)
  })
})

describe('smoothSeries', () => {
  it('returns the series unchanged at weight 0', () => {
    const points = [1, 5, 2].map((value, i) => ({ step: i + 1, value }))
    expect(smoothSeries(points, 0)).toEqual(points)
  })
  it('is bias-corrected, so a constant series stays constant', () => {
    const points = Array.from({ length: 10 }, (_, i) => ({ step: i + 1, value: 0.3 }))
    for (const p of smoothSeries(points, 0.9)) expect(p.value).toBeCloseTo(0.3, 12)
  })
  it('damps a spike', () => {
    const values = [1, 1, 1, 10, 1, 1]
    const smooth = smoothSeries(values.map((value, i) => ({ step: i, value })), 0.8)
    expect(smooth[3].value).toBeLessThan(5)
    expect(smooth[3].value).toBeGreaterThan(1)
  })
  it('rejects a weight outside [0, 1)', () => {
    expect(() => smoothSeries([], 1)).toThrow(RangeError)
  })
  it('extends a growing series incrementally, equal to smoothing it whole', () => {
    const points = Array.from({ length: 500 }, (_, i) => ({ step: i + 1, value: Math.sin(i) + 1 }))
    const smoother = new Smoother()
    let out: readonly { step: number; value: number }[] = []
    for (let n = 0; n <= 500; n += 37) out = smoother.smooth(points.slice(0, n), 0.9)
    out = smoother.smooth(points, 0.9)
    expect(out).toEqual(smoothSeries(points, 0.9))
    expect(smoother.smooth(points, 0.5)).toEqual(smoothSeries(points, 0.5))
    expect(smoother.smooth(points.slice(0, 10), 0.5)).toEqual(smoothSeries(points.slice(0, 10), 0.5))
  })
  it('smooths longer runs harder', () => {
    expect(smoothingFor(40)).toBeLessThan(smoothingFor(4000))
    expect(smoothingFor(1)).toBeGreaterThanOrEqual(0.6)
  })
})

describe('progressOf', () => {
  it('knows nothing before the trainer starts', () => {
    expect(progressOf(viewOf([{ type: 'queued', time: 0, position: 2 }]))).toEqual({
      step: 0,
      total: undefined,
      fraction: 0,
      itPerSec: undefined,
      etaSeconds: undefined,
      seconds: 0,
    })
  })
  it('measures speed and time left from the step clock', () => {
    const events = [started(100), ...Array.from({ length: 10 }, (_, i) => step(i + 1, 100, (i + 1) * 0.5))]
    const p = progressOf(viewOf(events))
    expect(p.step).toBe(10)
    expect(p.fraction).toBeCloseTo(0.1)
    expect(p.itPerSec).toBeCloseTo(2)
    expect(p.etaSeconds).toBeCloseTo(45)
  })
  it('measures speed over the recent window only', () => {
    // 30 slow steps (1 s each), then 21 fast ones (0.1 s each).
    const events: RunEvent[] = [started(100)]
    let t = 0
    for (let i = 1; i <= 51; i++) events.push(step(i, 100, (t += i <= 30 ? 1 : 0.1)))
    expect(progressOf(viewOf(events)).itPerSec).toBeCloseTo(10)
  })
  it('reports zero time left when done', () => {
    const events: RunEvent[] = [started(2), step(1, 2, 1), step(2, 2, 2), { type: 'finished', time: 0, step: 2, seconds: 2.5, adapter: 'adapter.safetensors' }]
    const p = progressOf(viewOf(events))
    expect(p.fraction).toBe(1)
    expect(p.etaSeconds).toBe(0)
    expect(p.seconds).toBe(2.5)
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [42.4, '42s'],
    [185, '3m 05s'],
    [3720, '1h 02m'],
  ])('%s seconds reads %s', (s, text) => expect(formatDuration(s)).toBe(text))
})
