import { describe, expect, it } from 'vitest'
import { parseScheduleCell } from '../../core/src/series/index.ts'
import { schedule } from '../../core/src/schedules/index.ts'
import { resolveConfig } from '../../core/src/config/validate.ts'

const ok = (text: string) => {
  const result = parseScheduleCell(text)
  if (!result.ok) throw new Error(JSON.stringify(result.issues))
  return result.preview
}
const issues = (text: string) => {
  const result = parseScheduleCell(text)
  if (result.ok) throw new Error('expected issues')
  return result.issues
}

describe('parseScheduleCell', () => {
  it('draws the train config defaults from an empty cell', () => {
    const preview = ok('')
    expect(preview.total).toBe(40)
    expect(preview.lr).toBe(0.001)
    expect(preview.schedules.map((s) => s.label)).toEqual(['constant'])
  })

  it('counts steps from images, repeats, epochs, batch and accumulation, and explains it', () => {
    const preview = ok('steps:\n  images: 25\n  repeats: 10\n  epochs: 3\n  batch_size: 4\n  gradient_accumulation: 2\n')
    // ceil(250 / 4) = 63 batches; ceil(63 / 2) = 32 steps per epoch; × 3.
    expect(preview.total).toBe(96)
    expect(preview.formula).toContain('ceil(25 images × 10 repeats / batch 4) = 63')
    expect(preview.formula).toContain('= 96 steps')
  })

  it('overlays the compare list on the main schedule with the trainer math and markers', () => {
    const preview = ok('optimizer:\n  lr: 0.0005\nsteps:\n  max_steps: 100\nscheduler:\n  name: cosine\n  warmup_steps: 10\ncompare:\n  - name: cosine_with_restarts\n    num_cycles: 3\n  - name: cosine\n    label: plain cosine\n')
    expect(preview.schedules.map((s) => s.label)).toEqual(['cosine', 'cosine_with_restarts', 'plain cosine'])
    expect(preview.schedules[0].points).toEqual(schedule({ ...defaultsOf('cosine'), warmup_steps: 10 }, 0.0005, 100))
    expect(preview.schedules[0].markers).toEqual([{ step: 11, label: 'warmup ends' }])
    expect(preview.schedules[1].markers.filter((m) => m.label === 'restart')).toHaveLength(2)
  })

  it('names two schedules of one kind apart', () => {
    expect(ok('compare:\n  - name: constant\n').schedules.map((s) => s.label)).toEqual(['constant', 'constant (2)'])
  })

  it('says the curve is a multiplier for adaptive optimizers', () => {
    expect(ok('optimizer:\n  name: prodigy\n  lr: 1.0\n').adaptiveNote).toMatch(/d × lr/)
    expect(ok('optimizer:\n  name: adamw\n').adaptiveNote).toBeUndefined()
  })

  it('names the path and line of a bad field, inside the compare list too', () => {
    expect(issues('scheduler:\n  name: cosinus\n')).toEqual([expect.objectContaining({ path: 'scheduler.name', line: 2 })])
    const found = issues('scheduler:\n  name: cosine\ncompare:\n  - name: linear\n  - name: polynomial\n    power: -1\n')
    expect(found).toEqual([expect.objectContaining({ path: 'compare.1.power', line: 6 })])
    expect(found[0].message).toContain('compare.1.power')
  })

  it('rejects unknown fields, bad step counts, and max_steps beside epochs', () => {
    expect(issues('schedular: {}\n')[0]).toMatchObject({ path: 'schedular', line: 1 })
    expect(issues('steps:\n  epochs: 0\n')[0]).toMatchObject({ path: 'steps.epochs', line: 2 })
    expect(issues('steps:\n  max_steps: 10\n  epochs: 2\n')[0].message).toMatch(/not both/)
    expect(issues('steps:\n  max_steps: 2000000\n')[0].message).toMatch(/limited to 1000000/)
    expect(issues('compare: linear\n')[0].path).toBe('compare')
  })

  it('reports YAML syntax errors with their line', () => {
    expect(issues('scheduler:\n  name: [cosine\n')[0]).toMatchObject({ path: '', message: expect.stringContaining('YAML syntax') })
  })
})

/** A scheduler section with every default filled in, as the trainer receives it. */
function defaultsOf(name: string) {
  const resolved = resolveConfig({ scheduler: { name } })
  if (!resolved.ok) throw new Error(`bad scheduler name ${name}`)
  return resolved.config.scheduler
}
