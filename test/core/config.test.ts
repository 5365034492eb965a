import { describe, expect, it } from 'vitest'
import { parseConfig, resolveConfig } from '../../core/src/index.ts'

const issuesOf = (yaml: string) => {
  const result = parseConfig(yaml)
  if (result.ok) throw new Error('expected the config to be rejected')
  return result.issues
}

describe('parseConfig', () => {
  it('fills every default into an empty config', () => {
    const result = parseConfig('')
    expect(result.ok && result.config).toMatchObject({
      model: 'shapes-xl',
      method: { name: 'lora', rank: 8, alpha: 8 },
      optimizer: { name: 'adamw', lr: 0.001 },
      scheduler: { name: 'constant', warmup_steps: 0 },
      training: { max_steps: 40, batch_size: 4, seed: 0 },
    })
  })

  it('keeps what the user wrote', () => {
    const result = parseConfig('optimizer:\n  lr: 0.0003\ntraining:\n  max_steps: 7\n')
    expect(result.ok && result.config.optimizer.lr).toBe(0.0003)
    expect(result.ok && result.config.training.max_steps).toBe(7)
  })

  it('names the YAML path and line of an out-of-range value', () => {
    expect(issuesOf('method:\n  rank: 8\noptimizer:\n  lr: -0.1\n')).toEqual([
      { path: 'optimizer.lr', message: 'optimizer.lr must be > 0', line: 4 },
    ])
  })

  it('names the path of a wrong type', () => {
    expect(issuesOf('training:\n  batch_size: four\n')).toEqual([
      { path: 'training.batch_size', message: 'training.batch_size must be an integer', line: 2 },
    ])
  })

  it('lists the known names for an unknown method', () => {
    const [issue] = issuesOf('method:\n  name: lorx\n')
    expect(issue.path).toBe('method.name')
    expect(issue.message).toContain('must be one of: lora')
  })

  it('names an unknown field and lists the known ones', () => {
    const [issue] = issuesOf('optimizer:\n  learning_rate: 0.1\n')
    expect(issue).toMatchObject({ path: 'optimizer.learning_rate', line: 2 })
    expect(issue.message).toContain('known: name, lr, weight_decay')
  })

  it('reports every problem at once', () => {
    expect(issuesOf('optimizer:\n  lr: 0\ntraining:\n  max_steps: 0\n').map((i) => i.path)).toEqual([
      'optimizer.lr',
      'training.max_steps',
    ])
  })

  it('reports YAML syntax errors with their line', () => {
    const [issue] = issuesOf('method:\n  rank: [8\n')
    expect(issue.message).toMatch(/^YAML syntax/)
    expect(issue.line).toBeGreaterThanOrEqual(2)
  })

  it('rejects a document that is not a mapping', () => {
    expect(issuesOf('- lora\n')[0].message).toContain('must be a mapping')
    expect(resolveConfig(42).ok).toBe(false)
  })

  it('rejects a section of the wrong shape', () => {
    expect(issuesOf('method: lora\n')[0]).toMatchObject({ path: 'method', message: 'method must be a mapping' })
  })

  it('refuses a huge config before parsing it', () => {
    expect(issuesOf('#'.repeat(70_000))[0].message).toContain('limit')
  })
})

describe('advice', () => {
  const warningsOf = (yaml: string) => {
    const result = parseConfig(yaml)
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    return result.warnings
  }

  it('has nothing to say about the defaults', () => {
    expect(warningsOf('')).toEqual([])
  })

  it('warns that Prodigy wants lr 1.0, naming the field and line', () => {
    expect(warningsOf('optimizer:\n  name: prodigy\n  lr: 0.0001\n')).toEqual([
      expect.objectContaining({ path: 'optimizer.lr', line: 3, message: expect.stringContaining('Use lr 1.0') }),
    ])
    expect(warningsOf('optimizer:\n  name: prodigy\n  lr: 1.0\n')).toEqual([])
  })

  it('warns that (IA)^3 needs several times a LoRA learning rate', () => {
    expect(warningsOf('method:\n  name: ia3\noptimizer:\n  lr: 0.0001\n')[0].message).toContain('8-10x')
    expect(warningsOf('method:\n  name: ia3\noptimizer:\n  lr: 0.01\n')).toEqual([])
  })

  it('warns about regularization settings that cannot act', () => {
    expect(warningsOf('data:\n  prior_loss_weight: 0.3\n')[0]).toMatchObject({ path: 'data.prior_loss_weight', line: 2 })
    expect(warningsOf('data:\n  reg_images: 10\n  prior_loss_weight: 0.3\n')).toEqual([])
    expect(warningsOf('data:\n  source: folder\n  path: /d\n  reg_images: 10\n')[0]).toMatchObject({ path: 'data.reg_images', message: expect.stringContaining('data.reg_path') })
  })

  it("warns that mirroring contradicts the shapes world's left-and-right captions", () => {
    expect(warningsOf('data:\n  flip_aug: true\n').map((w) => w.path)).toEqual(['data.flip_aug'])
    expect(warningsOf('data:\n  source: folder\n  path: /data/set\n  flip_aug: true\n')).toEqual([])
  })

  it('warns about a dropout the method does not apply, naming the methods that do', () => {
    expect(warningsOf('method:\n  name: oft\n  dropout: 0.1\n')).toMatchObject([{ path: 'method.dropout', message: 'oft does not apply dropout; the run will refuse it (lora, locon, loha, lokr, glora do).' }])
    expect(warningsOf('method:\n  name: lokr\n  rank_dropout: 0.1\n  module_dropout: 0.1\n').map((w) => w.path)).toEqual(['method.rank_dropout'])
    expect(warningsOf('method:\n  name: lora\n  dropout: 0.1\n  rank_dropout: 0.1\n  module_dropout: 0.1\n')).toEqual([])
  })

  it('warns that a method without a low-rank update cannot take scale_weight_norms', () => {
    expect(warningsOf('method:\n  name: ia3\noptimizer:\n  lr: 0.01\ntraining:\n  scale_weight_norms: 1\n').map((w) => w.path)).toContain('training.scale_weight_norms')
    expect(warningsOf('training:\n  scale_weight_norms: 1\n')).toEqual([])
  })

  it('warns about the jump at each restart of cosine_with_restarts', () => {
    expect(warningsOf('scheduler:\n  name: cosine_with_restarts\n  num_cycles: 3\n')[0]).toMatchObject({ path: 'scheduler.name', line: 2 })
  })
})

describe('YAML that parses but cannot be built (found by the fuzzer)', () => {
  it('reports an alias to a missing anchor instead of throwing', () => {
    expect(issuesOf('method: *nowhere\n')[0].message).toMatch(/^YAML/)
  })
  it('refuses an alias bomb', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 8; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill('*' + String.fromCharCode(96 + i)).join(', ')}]`)
    expect(issuesOf(bomb.join('\n'))[0].message).toMatch(/^YAML/)
  })
})

describe('every cell reads YAML the same way', () => {
  it('schedule and size cells report an unresolved alias instead of throwing', async () => {
    const { parseScheduleCell } = await import('../../core/src/series/index.ts')
    const { parseSizeCell } = await import('../../core/src/size/cell.ts')
    for (const result of [parseScheduleCell('scheduler: *nowhere\n'), parseSizeCell('method: *nowhere\n')]) {
      if (result.ok) throw new Error('an unresolved alias parsed')
      expect(result.issues[0].message).toMatch(/^YAML/)
    }
  })
})
