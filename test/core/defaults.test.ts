import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { mergeDefaults, parseCellConfig } from '../../core/src/config/defaults.ts'

const merged = (frontMatter: string, cell: string) => {
  const result = mergeDefaults(frontMatter, cell)
  if (!result.ok) throw new Error(JSON.stringify(result.issues))
  return parse(result.text)
}

describe('mergeDefaults', () => {
  it('returns the cell text unchanged without front matter, comments and all', () => {
    const cell = '# a comment\nmethod:\n  rank: 4\n'
    expect(mergeDefaults('', cell)).toEqual({ ok: true, text: cell })
    expect(mergeDefaults('  \n', cell)).toEqual({ ok: true, text: cell })
  })

  it('merges section by section and field by field; the cell wins', () => {
    const frontMatter = 'model: shapes-xl\noptimizer:\n  name: adamw\n  lr: 0.001\ntraining:\n  max_steps: 30\n'
    const cell = 'optimizer:\n  lr: 0.0003\nmethod:\n  rank: 4\n'
    expect(merged(frontMatter, cell)).toEqual({
      model: 'shapes-xl',
      optimizer: { name: 'adamw', lr: 0.0003 },
      training: { max_steps: 30 },
      method: { rank: 4 },
    })
  })

  it('replaces lists and scalars whole instead of merging them', () => {
    const frontMatter = 'optimizer:\n  args:\n    betas: [0.9, 0.99]\nsample:\n  prompts: [a star, a circle]\n'
    const cell = 'sample:\n  prompts: [a square]\n'
    expect(merged(frontMatter, cell)).toEqual({ optimizer: { args: { betas: [0.9, 0.99] } }, sample: { prompts: ['a square'] } })
  })

  it('an empty cell takes every default from the front matter', () => {
    expect(merged('training:\n  max_steps: 12\n', '')).toEqual({ training: { max_steps: 12 } })
  })

  it('names the front matter when its YAML is broken, without a cell line', () => {
    const result = mergeDefaults('optimizer: [1, 2', 'method:\n  rank: 4\n')
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.issues).toHaveLength(1)
    expect(result.issues[0]).toMatchObject({ source: 'front matter', path: '' })
    expect(result.issues[0].message).toMatch(/^YAML syntax in the notebook's front matter: /)
    expect(result.issues[0].line).toBeUndefined()
  })

  it('names the cell, with its line, when the cell YAML is broken', () => {
    const result = mergeDefaults('training:\n  max_steps: 12\n', 'method:\n  rank: 4\n bad: [\n')
    expect(!result.ok && result.issues[0]).toMatchObject({ source: 'cell', path: '' })
    expect(!result.ok && result.issues[0].line).toBeGreaterThanOrEqual(2)
  })

  it('refuses front matter that is not a mapping', () => {
    const result = mergeDefaults('- a\n- b\n', '')
    expect(!result.ok && result.issues).toEqual([
      { path: '', source: 'front matter', message: "the notebook's front matter must be a mapping of config sections (model, data, method, optimizer, ...)" },
    ])
  })
})

describe('parseCellConfig', () => {
  it('resolves the cell over the front matter over the schema defaults', () => {
    const result = parseCellConfig('optimizer:\n  lr: 0.002\ntraining:\n  max_steps: 9\n', 'training:\n  max_steps: 5\n')
    expect(result.ok && result.config.optimizer).toMatchObject({ name: 'adamw', lr: 0.002 })
    expect(result.ok && result.config.training.max_steps).toBe(5)
    expect(result.ok && result.config.method.rank).toBe(8)
  })

  it('blames the front matter for a bad default the cell does not override', () => {
    const result = parseCellConfig('optimizer:\n  lr: -1\n', 'method:\n  rank: 4\n')
    expect(!result.ok && result.issues).toEqual([
      { path: 'optimizer.lr', source: 'front matter', message: "in the notebook's front matter: optimizer.lr must be > 0" },
    ])
  })

  it('blames the cell, on its own line, for its own bad value', () => {
    const result = parseCellConfig('optimizer:\n  name: adamw\n', 'method:\n  rank: 4\noptimizer:\n  lr: -1\n')
    expect(!result.ok && result.issues).toEqual([{ path: 'optimizer.lr', source: 'cell', message: 'optimizer.lr must be > 0', line: 4 }])
  })

  it('a cell value that fixes a bad default leaves no issue', () => {
    expect(parseCellConfig('optimizer:\n  lr: -1\n', 'optimizer:\n  lr: 0.01\n').ok).toBe(true)
  })

  it('names an unknown section in the front matter', () => {
    const result = parseCellConfig('title: My notes\n', '')
    expect(!result.ok && result.issues[0]).toMatchObject({ path: 'title', source: 'front matter' })
    expect(!result.ok && result.issues[0].message).toContain('unknown field "title"')
  })
})
