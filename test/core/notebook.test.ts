import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { notebookTitle, parseConfig, parseNotebook, serializeNotebook, type CodeCell } from '../../core/src/index.ts'

const text = `---
training:
  max_steps: 10
---

# A title

Some prose with an ordinary code block:

\`\`\`python
print("not a cell")
\`\`\`

\`\`\`train id=first
method:
  rank: 4
\`\`\`

More prose.

\`\`\`train
optimizer:
  lr: 0.01
\`\`\`
`

describe('notebook format', () => {
  it('splits prose and train cells, keeping ordinary code blocks in the prose', () => {
    const nb = parseNotebook(text)
    expect(nb.frontMatter).toBe('training:\n  max_steps: 10')
    expect(nb.cells.map((c) => c.kind)).toEqual(['prose', 'train', 'prose', 'train'])
    expect(nb.cells[0].source).toContain('print("not a cell")')
    expect(nb.cells[1]).toEqual({ kind: 'train', id: 'first', source: 'method:\n  rank: 4' })
    expect(nb.cells[3]).toMatchObject({ kind: 'train', id: 'train-1' })
  })

  it('round-trips through serialize', () => {
    const nb = parseNotebook(text)
    const again = parseNotebook(serializeNotebook(nb))
    expect(again).toEqual(nb)
    expect(serializeNotebook(again)).toBe(serializeNotebook(nb))
  })

  it('takes the title from the first heading', () => {
    expect(notebookTitle(parseNotebook(text), 'x')).toBe('A title')
    expect(notebookTitle(parseNotebook('no heading'), 'fallback')).toBe('fallback')
  })

  it('the welcome lesson has a train cell whose config is valid', () => {
    const nb = parseNotebook(readFileSync(new URL('../../lessons/welcome.md', import.meta.url), 'utf8'))
    const cells = nb.cells.filter((c): c is CodeCell => c.kind === 'train')
    expect(cells.length).toBeGreaterThan(0)
    for (const cell of cells) expect(parseConfig(cell.source).ok, cell.id).toBe(true)
  })
})
