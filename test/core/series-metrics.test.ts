import { describe, expect, it } from 'vitest'
import type { RunEvent } from '../../core/src/protocol.ts'
import { configRows, parseCompareCell, finalMetrics, mergeTwins, MISSING, smoothSeries, viewOf } from '../../core/src/series/index.ts'

const step = (n: number, extra: Partial<Extract<RunEvent, { type: 'step' }>> = {}): RunEvent => ({
  type: 'step', time: n, step: n, total: 3, loss: 1 / n, lr: 1e-3, seconds: n, ...extra,
})

describe('per-group and effective LR', () => {
  it('labels the trainer param groups unet, then text encoder', () => {
    const events = [step(1, { lrs: [1e-3, 5e-5] }), step(2, { lrs: [9e-4, 4e-5] })]
    expect(viewOf(events).lrGroups).toEqual([
      { label: 'unet', points: [{ step: 1, value: 1e-3 }, { step: 2, value: 9e-4 }] },
      { label: 'text encoder', points: [{ step: 1, value: 5e-5 }, { step: 2, value: 4e-5 }] },
    ])
  })
  it('labels them as the started event names them (LoRA+ adds a group per part)', () => {
    const started: RunEvent = { type: 'started', time: 0, total: 3, trainable_params: 10, device: 'cpu', lr_groups: ['unet', 'unet, LoRA+ up', 'text_encoder'] }
    expect(viewOf([started, step(1, { lrs: [1e-3, 1.6e-2, 5e-5] })]).lrGroups.map((l) => l.label)).toEqual(['unet', 'unet, LoRA+ up', 'text encoder'])
  })
  it('draws groups at one LR as one line named by both, and keeps groups that part apart', () => {
    const started: RunEvent = { type: 'started', time: 0, total: 3, trainable_params: 10, device: 'cpu', lr_groups: ['unet', 'embeddings', 'text_encoder'] }
    const same = viewOf([started, step(1, { lrs: [1e-3, 1e-3, 5e-5] }), step(2, { lrs: [9e-4, 9e-4, 4e-5] })])
    expect(mergeTwins(same.lrGroups).map((l) => [l.label, l.points.length])).toEqual([['unet = embeddings', 2], ['text encoder', 2]])
    const parted = viewOf([started, step(1, { lrs: [0, 0, 0] }), step(2, { lrs: [1e-3, 2e-3, 2e-3] })])
    expect(mergeTwins(parted.lrGroups).map((l) => l.label)).toEqual(['unet', 'embeddings = text encoder'])
  })
  it('has no effective LR line for optimizers that do not report one', () => {
    expect(viewOf([step(1, { lrs: [1] })]).effectiveLrs).toEqual([])
    expect(viewOf([step(1, { effective_lrs: [2e-5] })]).effectiveLrs).toEqual([{ label: 'effective, unet', points: [{ step: 1, value: 2e-5 }] }])
  })
})

describe('grad norm, eval and samples', () => {
  it('skips steps without a gradient norm', () => {
    expect(viewOf([step(1), step(2, { grad_norm: 0.7 })]).gradNorm).toEqual([{ step: 2, value: 0.7 }])
  })
  it('splits eval events into fidelity and retention', () => {
    const events: RunEvent[] = [{ type: 'eval', time: 0, step: 0, fidelity: 0.1, retention: 1, base_score: 0.8 }, { type: 'eval', time: 1, step: 5, fidelity: 0.6, retention: 0.9, base_score: 0.8 }]
    const { fidelity, retention } = viewOf(events)
    expect({ fidelity, retention }).toEqual({ fidelity: [{ step: 0, value: 0.1 }, { step: 5, value: 0.6 }], retention: [{ step: 0, value: 1 }, { step: 5, value: 0.9 }] })
  })
  it('keeps only sample files inside samples/', () => {
    const event: RunEvent = {
      type: 'sample', time: 0, step: 4,
      images: [
        { file: 'samples/000004_0.png', prompt: 'a star', seed: 1 },
        { file: '../../etc/passwd', prompt: 'x', seed: 0 },
        { file: 'samples/../config.json', prompt: 'x', seed: 0 },
        { file: 'samples/.hidden', prompt: 'x', seed: 0 },
      ],
    }
    expect(viewOf([event]).samples).toEqual([{ step: 4, images: [{ name: '000004_0.png', prompt: 'a star', seed: 1 }] }])
  })
})

describe('finalMetrics', () => {
  it('reports steps, time, parameters, smoothed loss and the last scores', () => {
    const events: RunEvent[] = [
      { type: 'started', time: 0, total: 3, trainable_params: 4321, device: 'cpu' },
      step(1), step(2), step(3),
      { type: 'eval', time: 3, step: 3, fidelity: 0.5, retention: 0.95, base_score: 0.9 },
      { type: 'finished', time: 4, step: 3, seconds: 3.5, adapter: 'adapter.safetensors' },
    ]
    const view = viewOf(events)
    const m = finalMetrics(view, smoothSeries(view.loss, 0.6))
    expect(m).toMatchObject({ steps: 3, seconds: 3.5, trainableParams: 4321, fidelity: 0.5, retention: 0.95 })
    // Smoothed, so between the last raw loss (1/3) and the first (1).
    expect(m.finalLoss).toBeGreaterThan(1 / 3)
    expect(m.finalLoss).toBeLessThan(1)
  })
  it('knows nothing of a run that has not stepped', () => {
    expect(finalMetrics(viewOf([]), [])).toEqual({ steps: 0, seconds: 0, finalLoss: undefined })
  })
})

describe('configRows', () => {
  it('flattens configs into one row per field and marks the differences', () => {
    const rows = configRows([
      { method: { name: 'lora', rank: 8 }, sample: { prompts: [{ prompt: 'a' }] } },
      { method: { name: 'lokr', rank: 8, factor: 8 }, sample: { prompts: [{ prompt: 'a' }] } },
    ])
    expect(rows).toEqual([
      { path: 'method.name', values: ['lora', 'lokr'], differs: true },
      { path: 'method.rank', values: ['8', '8'], differs: false },
      { path: 'sample.prompts', values: ['[{"prompt":"a"}]', '[{"prompt":"a"}]'], differs: false },
      { path: 'method.factor', values: [MISSING, '8'], differs: true },
    ])
  })
})

describe('parseCompareCell', () => {
  it('reads the list of cells', () => {
    expect(parseCompareCell('cells: [lora-r8, lokr-f8]\n')).toEqual({ ok: true, cells: ['lora-r8', 'lokr-f8'] })
  })
  it.each([
    ['', 'cells', /cells: \[lora-r8/],
    ['cells: lora-r8\n', 'cells', /must be a list/],
    ['cells: []\n', 'cells', /one or more/],
    ['cells:\n  - a\n  - {x: 1}\n', 'cells.1', /must be a cell id/],
    ['cells: [a, a]\n', 'cells.1', /listed twice/],
    ['cells: [a]\nruns: 3\n', 'runs', /unknown field "runs"/],
  ])('explains %j', (text, path, message) => {
    const result = parseCompareCell(text)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issues).toContainEqual(expect.objectContaining({ path, message: expect.stringMatching(message) }))
  })
})
