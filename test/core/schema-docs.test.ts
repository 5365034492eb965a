import { describe, expect, it } from 'vitest'
import { choicesAt, describeField, fieldsAt, schemaAt, yamlPositionAt } from '../../core/src/config/schema-docs.ts'
import { METHODS, OPTIMIZERS, SCHEDULERS, TrainConfigSchema } from '../../core/src/config/schema.ts'

describe('schema lookups', () => {
  it('lists the sections at the top, each with its description', () => {
    const sections = fieldsAt([])
    expect(sections.map((f) => f.name)).toEqual(Object.keys(TrainConfigSchema.properties))
    expect(sections.find((f) => f.name === 'method')?.description).toBe('The adapter that is trained on top of the frozen base model.')
  })

  it('lists the fields of a section with type, range and default', () => {
    const rank = fieldsAt(['method']).find((f) => f.name === 'rank')!
    expect(rank).toMatchObject({ path: 'method.rank', type: 'integer, ≥ 1, ≤ 1024', default: '8' })
    expect(rank.description).toContain('network_dim')
  })

  it('describes nullable and union fields', () => {
    expect(describeField(['method', 'unet_lr'])).toMatchObject({ type: 'number, > 0, ≤ 10 or null', default: 'null' })
    expect(describeField(['scheduler', 'warmup_steps'])!.type).toBe('integer, ≥ 0 or number, > 0, < 1')
    expect(describeField(['data', 'resolution'])!.type).toContain('a multiple of 8')
  })

  it('gives no fields or docs for paths the schema lacks', () => {
    expect(fieldsAt(['nope'])).toEqual([])
    expect(fieldsAt(['method', 'rank'])).toEqual([])
    expect(describeField(['method', 'nope'])).toBeUndefined()
    expect(describeField([])).toBeUndefined()
    expect(schemaAt(['optimizer', 'lr', 'deeper'])).toBeUndefined()
  })

  it.each([
    ['method.name', METHODS],
    ['optimizer.name', OPTIMIZERS],
    ['scheduler.name', SCHEDULERS],
  ])('offers every %s of the registry with its label and summary', (path, registry) => {
    const choices = choicesAt(path.split('.'))
    expect(choices.map((c) => c.value)).toEqual(Object.keys(registry))
    for (const choice of choices) {
      const row = (registry as Record<string, { label: string; summary: string }>)[choice.value]
      expect(choice).toEqual({ value: choice.value, label: row.label, summary: row.summary })
    }
  })

  it('offers plain enums and booleans without registry words', () => {
    expect(choicesAt(['training', 'mixed_precision'])).toEqual([{ value: 'no' }, { value: 'fp16' }, { value: 'bf16' }])
    expect(choicesAt(['method', 'train_text_encoder'])).toEqual([{ value: 'true' }, { value: 'false' }])
    expect(choicesAt(['optimizer', 'lr'])).toEqual([])
  })

  it('hover on a registry enum keeps only the lead sentence; the choices come separately', () => {
    expect(describeField(['method', 'name'])!.description).toBe('Fine-tuning method.')
  })
})

describe('yamlPositionAt', () => {
  const at = (textWithCursor: string) => {
    const offset = textWithCursor.indexOf('|')
    return yamlPositionAt(textWithCursor.replace('|', ''), offset)
  }

  it('at the top level on an empty line: no parents, completing a section', () => {
    expect(at('method:\n  rank: 4\n|')).toMatchObject({ parents: [], inValue: false, word: '' })
  })

  it('inside a section while typing a field name', () => {
    const text = 'method:\n  rank: 4\n  al|'
    expect(at(text)).toMatchObject({ parents: ['method'], inValue: false, word: 'al', from: text.indexOf('al') })
  })

  it('on a value after the colon', () => {
    const text = 'optimizer:\n  name: pro|'
    expect(at(text)).toMatchObject({ parents: ['optimizer'], key: 'name', inValue: true, word: 'pro', from: text.indexOf('pro') })
  })

  it('on a key: the whole key is the word', () => {
    const text = 'scheduler:\n  warm|up_steps: 5\n'
    expect(at(text)).toMatchObject({ parents: ['scheduler'], key: 'warmup_steps', inValue: false, word: 'warmup_steps', from: text.indexOf('warm') })
  })

  it('skips sibling fields and comments to find the section', () => {
    expect(at('training:\n  max_steps: 5\n  # note\n  batch_size: 2\n  |')).toMatchObject({ parents: ['training'] })
    expect(at('optimizer:\n  args:\n    eps: 1|')).toMatchObject({ parents: ['optimizer', 'args'], key: 'eps', inValue: true })
  })

  it('an indented empty line under a section belongs to it; a top-level one does not', () => {
    expect(at('method:\n  rank: 4\n  |')).toMatchObject({ parents: ['method'] })
    expect(at('method:\n  rank: 4\noptimizer:\n  lr: 1\n|')).toMatchObject({ parents: [] })
  })
})
