// The lesson re-measuring tool's pure parts: which runs it makes of a lesson, and how it sums their scores up.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { jobsOf, merge, quarters, summarize } from '../../scripts/measure-lessons.ts'
import { repo } from '../server/harness.ts'

describe('measure:lessons', () => {
  it('runs every train cell once per seed, as the server would: front-matter defaults merged, the model swapped', () => {
    const jobs = jobsOf(join(repo, 'lessons/10-lora.md'), [0, 1], { model: '/models/new', threads: 1 })
    const cells = new Set(jobs.map((j) => j.cell))
    expect(jobs.length).toBe(cells.size * 2)
    for (const job of jobs) {
      expect(job.config.data.concept).toBe('star') // from the front matter
      expect(job.config.model).toBe('/models/new')
      expect(job.config.training).toMatchObject({ seed: job.seed, cpu_threads: 1 })
    }
    const short = jobsOf(join(repo, 'lessons/41-epochs-and-burning.md'), [3], { steps: 5, threads: 1 })
    expect(short.find((j) => j.cell === 'reg-weight-1')?.config).toMatchObject({ data: { reg_images: 20 }, training: { max_steps: 5, epochs: null, seed: 3 } })
    const threads = jobsOf(join(repo, 'lessons/42-precision-and-caching.md'), [0], { threads: 1, cells: ['threads-1', 'threads-2'] })
    expect(threads.map((j) => j.config.training.cpu_threads)).toEqual([1, 2]) // a cell's own thread count is kept
    const picked = jobsOf(join(repo, 'lessons/41-epochs-and-burning.md'), [0, 1], { cells: ['long-lr1e-2', 'reg-none'], threads: 1 })
    expect(picked.map((j) => `${j.cell}/${j.seed}`)).toEqual(['long-lr1e-2/0', 'long-lr1e-2/1', 'reg-none/0', 'reg-none/1'])
  })

  it('averages each quarter of a run, leaving out the base model at step 0', () => {
    const scores = [0, 50, 100, 150, 200, 250, 300, 350, 400].map((step) => ({ step, fidelity: step / 400, retention: step === 0 ? 1 : 0.5 }))
    const q = quarters(scores, 400)
    expect(q.map((x) => x.steps)).toEqual([[1, 100], [101, 200], [201, 300], [301, 400]])
    expect(q[0]).toMatchObject({ fidelity: (0.125 + 0.25) / 2, retention: 0.5 })
    expect(quarters([{ step: 0, fidelity: 0, retention: 1 }], 400).every((x) => x.fidelity === null)).toBe(true)
  })

  it('averages seeds per cell and quarter', () => {
    const run = (cell: string, f: number, r: number | null) => ({ lesson: 'l.md', cell, quarters: [{ steps: [1, 10] as [number, number], fidelity: f, retention: r }] })
    expect(summarize([run('a', 0.2, 0.8), run('a', 0.4, null), run('b', 1, 1)])).toEqual({
      'l.md#a': [{ steps: [1, 10], fidelity: (0.2 + 0.4) / 2, retention: 0.8 }],
      'l.md#b': [{ steps: [1, 10], fidelity: 1, retention: 1 }],
    })
  })

  it('merges reports of one model measured in parts, and refuses two models or a run measured twice', () => {
    const run = (seed: number, f: number) => ({ lesson: 'l.md', cell: 'a', seed, quarters: [{ steps: [1, 10], fidelity: f, retention: 1 }] })
    const report = (seeds: number[], started: string, model = 'm') => ({ model, seeds, started, runs: seeds.map((s) => run(s, s / 10)) })
    const merged = merge([report([1, 2], '2026-11-27'), report([0], '2026-11-26')])
    expect(merged).toMatchObject({ model: 'm', seeds: [0, 1, 2], started: '2026-11-26' })
    expect(merged.runs).toHaveLength(3)
    expect(merged.cells['l.md#a'][0].fidelity).toBeCloseTo(0.1)
    expect(() => merge([report([0], 'x'), report([1], 'x', 'other')])).toThrow(/different models \(m, other\)/)
    expect(() => merge([report([0, 1], 'x'), report([1], 'x')])).toThrow(/l.md a seed 1 is in more than one report/)
  })
})
