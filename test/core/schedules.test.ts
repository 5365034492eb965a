import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SCHEDULERS, type TrainConfig } from '../../core/src/config/schema.ts'
import { markers, optimizerSteps, schedule } from '../../core/src/schedules/index.ts'

interface Golden {
  lr: number
  total_steps: number
  scheduler: TrainConfig['scheduler']
  lrs: number[]
}

// Written by `python -m trainer.golden_schedules`: the LRs the trainer applied, through the real libraries.
const golden: Golden[] = JSON.parse(readFileSync(new URL('../fixtures/lr-schedules.json', import.meta.url), 'utf8')).cases

/** Relative error at most 1e-12; near zero, where relative error means nothing, absolute at most 1e-15. */
const close = (a: number, b: number) => Math.abs(a - b) <= Math.max(1e-12 * Math.max(Math.abs(a), Math.abs(b)), 1e-15)

describe('schedule previews equal the trainer', () => {
  it('covers every scheduler', () => {
    expect(new Set(golden.map((g) => g.scheduler.name))).toEqual(new Set(Object.keys(SCHEDULERS)))
  })

  for (const g of golden) {
    it(`${JSON.stringify(g.scheduler)} lr ${g.lr} over ${g.total_steps} steps`, () => {
      const points = schedule(g.scheduler, g.lr, g.total_steps)
      expect(points).toHaveLength(g.lrs.length)
      const off = points.map((p, i) => ({ step: p.step, ts: p.lr, python: g.lrs[i] })).filter((d) => !close(d.ts, d.python))
      expect(off.slice(0, 3)).toEqual([])
    })
  }
})

describe('close', () => {
  it('fails a real difference and passes rounding noise', () => {
    expect(close(1e-3, 1e-3 * (1 + 1e-13))).toBe(true)
    expect(close(1e-3, 1e-3 * (1 + 1e-11))).toBe(false)
    expect(close(0, 1e-16)).toBe(true)
    expect(close(0, 1e-14)).toBe(false)
  })
})

describe('optimizerSteps', () => {
  it('counts as sd-scripts does: ceil per epoch, then ceil over accumulation', () => {
    const count = optimizerSteps({ images: 15, repeats: 10, epochs: 4, batchSize: 4, accumulation: 4 })
    expect(count).toMatchObject({ batchesPerEpoch: 38, stepsPerEpoch: 10, steps: 40 })
    expect(count.formula).toContain('ceil(15 images × 10 repeats / batch 4) = 38')
  })
})

describe('markers', () => {
  const section = (fields: Partial<TrainConfig['scheduler']>) => ({ ...golden.find((g) => g.scheduler.name === 'cosine')!.scheduler, ...fields })

  it('marks the end of warmup (ratio) and each restart', () => {
    const marks = markers(section({ name: 'cosine_with_restarts', warmup_steps: 0.1, num_cycles: 3 }), 100)
    expect(marks).toEqual([
      { step: 11, label: 'warmup ends' },
      { step: 41, label: 'restart' },
      { step: 71, label: 'restart' },
    ])
  })

  it('puts each restart where the LR jumps back up', () => {
    const s = section({ name: 'cosine_with_restarts_decay', num_cycles: 4, gamma: 0.5 })
    const points = schedule(s, 1, 97)
    for (const { step } of markers(s, 97)) expect(points[step - 1].lr).toBeGreaterThan(points[step - 2].lr)
  })
})
