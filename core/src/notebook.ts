// The notebook file format: plain Markdown. Prose cells are Markdown; runnable
// cells are fenced blocks whose info string names the kind and an id, with a
// YAML body:   ```train id=first-lora
// Front matter (--- yaml ---) holds notebook-level defaults that cells inherit.
// parse and serialize round-trip, so a saved notebook stays diffable.

export const CELL_KINDS = ['train', 'schedule', 'compare', 'size'] as const
export type CellKind = (typeof CELL_KINDS)[number]

export interface ProseCell {
  kind: 'prose'
  source: string
}
export interface CodeCell {
  kind: CellKind
  id: string
  /** The YAML body between the fences. */
  source: string
}
export type Cell = ProseCell | CodeCell

export interface Notebook {
  /** The front matter's YAML text, without the --- fences; "" when absent. */
  frontMatter: string
  cells: Cell[]
}

const FENCE = /^(`{3,}|~{3,})\s*([A-Za-z][\w-]*)?(.*)$/
const isCellKind = (word: string | undefined): word is CellKind => CELL_KINDS.includes(word as CellKind)

export function parseNotebook(text: string): Notebook {
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  let i = 0
  let frontMatter = ''
  if (lines[0] === '---') {
    const end = lines.indexOf('---', 1)
    if (end > 0) {
      frontMatter = lines.slice(1, end).join('\n')
      i = end + 1
    }
  }
  const cells: Cell[] = []
  let prose: string[] = []
  const flushProse = () => {
    const source = prose.join('\n').trim()
    if (source) cells.push({ kind: 'prose', source })
    prose = []
  }
  let autoId = 0
  while (i < lines.length) {
    const fence = FENCE.exec(lines[i])
    if (!fence) {
      prose.push(lines[i++])
      continue
    }
    // Find the closing fence: same character, at least as long.
    const [, marks, word, rest] = fence
    let end = i + 1
    while (end < lines.length && !new RegExp(`^${marks[0]}{${marks.length},}\\s*$`).test(lines[end])) end++
    const body = lines.slice(i + 1, end)
    if (isCellKind(word)) {
      flushProse()
      const id = /(?:^|\s)id=([\w.-]+)/.exec(rest)?.[1] ?? `${word}-${++autoId}`
      cells.push({ kind: word, id, source: body.join('\n') })
    } else {
      // An ordinary code block is part of the prose around it.
      prose.push(...lines.slice(i, Math.min(end + 1, lines.length)))
    }
    i = end + 1
  }
  flushProse()
  return { frontMatter, cells }
}

export function serializeNotebook(notebook: Notebook): string {
  const parts: string[] = []
  if (notebook.frontMatter.trim()) parts.push(`---\n${notebook.frontMatter.trim()}\n---`)
  for (const cell of notebook.cells) {
    if (cell.kind === 'prose') parts.push(cell.source.trim())
    else parts.push('```' + `${cell.kind} id=${cell.id}\n${cell.source.replace(/\n+$/, '')}\n` + '```')
  }
  return parts.join('\n\n') + '\n'
}

/** The notebook's title: its first level-1 heading, else the file name. */
export function notebookTitle(notebook: Notebook, fallback: string): string {
  for (const cell of notebook.cells) {
    if (cell.kind !== 'prose') continue
    const heading = /^#\s+(.+)$/m.exec(cell.source)
    if (heading) return heading[1].trim()
  }
  return fallback
}
