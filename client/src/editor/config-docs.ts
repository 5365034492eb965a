// Completion and hover docs for a train cell's YAML, both read from the one
// config schema through core/src/config/schema-docs.ts: section names, the
// fields of a section (with their description), and enum values (with each
// registry row's label and summary).
import type { Completion, CompletionContext, CompletionResult } from '@codemirror/autocomplete'
import { hoverTooltip } from '@codemirror/view'
import { choicesAt, describeField, fieldsAt, yamlPositionAt, type FieldDoc } from '../../../core/src/config/schema-docs.ts'

export function completeConfig(context: CompletionContext): CompletionResult | null {
  const text = context.state.doc.toString()
  const at = yamlPositionAt(text, context.pos)
  if (at.inValue) {
    const options = choicesAt([...at.parents, at.key!]).map(
      (c): Completion => ({ label: c.value, type: 'enum', detail: c.label, info: c.summary }),
    )
    return options.length ? { from: at.from, options, validFor: /^[\w.-]*$/ } : null
  }
  // A field name: offer the fields this mapping may hold, except those already written beside it.
  if (!at.word && !context.explicit) return null
  const taken = siblingKeys(text, context.pos)
  const options = fieldsAt(at.parents)
    .filter((f) => !taken.has(f.name) || f.name === at.key)
    .map((f): Completion => ({
      label: f.name,
      type: at.parents.length ? 'property' : 'class',
      detail: f.default !== undefined ? `default ${f.default}` : undefined,
      info: () => docNode(f),
      // A section opens a block below; a field is followed by its value.
      apply: at.key ? f.name : fieldsAt([...at.parents, f.name]).length ? `${f.name}:\n${' '.repeat(indentAt(text, at.from) + 2)}` : `${f.name}: `,
    }))
  return options.length ? { from: at.from, to: at.key ? at.to : undefined, options, validFor: /^[\w-]*$/ } : null
}

/** Hover on a field name: its description, type and range, default. */
export const configHover = hoverTooltip((view, pos) => {
  const text = view.state.doc.toString()
  const at = yamlPositionAt(text, pos)
  if (!at.key || at.inValue || pos < at.from || pos > at.to) return null
  const doc = describeField([...at.parents, at.key])
  if (!doc) return null
  return { pos: at.from, end: at.to, above: true, create: () => ({ dom: docNode(doc) }) }
})

function docNode(field: FieldDoc): HTMLElement {
  const box = document.createElement('div')
  box.className = 'config-doc'
  const head = document.createElement('div')
  head.className = 'config-doc-head'
  head.textContent = field.path
  const type = document.createElement('div')
  type.className = 'config-doc-type'
  type.textContent = field.default !== undefined ? `${field.type} · default ${field.default}` : field.type
  const body = document.createElement('p')
  body.textContent = field.description
  box.append(head, type, body)
  return box
}

function indentAt(text: string, offset: number): number {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1
  return /^ */.exec(text.slice(lineStart))![0].length
}

/** Keys already written at the cursor's indent within its mapping. */
function siblingKeys(text: string, offset: number): Set<string> {
  const lines = text.split('\n')
  const row = text.slice(0, offset).split('\n').length - 1
  const indent = /^ */.exec(lines[row])![0].length
  const keys = new Set<string>()
  for (const step of [-1, 1]) {
    for (let i = row + step; i >= 0 && i < lines.length; i += step) {
      const line = lines[i]
      if (!line.trim() || line.trimStart().startsWith('#')) continue
      const own = /^ */.exec(line)![0].length
      if (own < indent) break
      const key = own === indent && /^ *([A-Za-z_][\w-]*)\s*:/.exec(line)
      if (key) keys.add(key[1])
    }
  }
  return keys
}
