// What the editor says about the config, read from the one schema: the fields
// of a section, the choices of an enum (with each registry row's label and
// summary), and a field's description, default, type and range for hover docs.
// Also where the cursor is in a cell's YAML, as a path of keys. Pure: the
// CodeMirror glue lives in client/src/editor/.
import { CONCEPTS, DATA_SOURCES } from './sections/data.ts'
import { METHODS } from './sections/method.ts'
import { OPTIMIZERS } from './sections/optimizer.ts'
import { SAMPLERS } from './sections/sample.ts'
import { SCHEDULERS } from './sections/scheduler.ts'
import type { RegistryEntry } from './sections/section.ts'
import { TrainConfigSchema } from './schema.ts'

/** The enums backed by a registry: their choices are taught by the registry's rows, not by the field's long description. */
const REGISTRIES: Record<string, Record<string, RegistryEntry>> = {
  'data.source': DATA_SOURCES,
  'data.concept': CONCEPTS,
  'method.name': METHODS,
  'optimizer.name': OPTIMIZERS,
  'scheduler.name': SCHEDULERS,
  'sample.sampler': SAMPLERS,
}

export interface FieldDoc {
  /** Dotted path, e.g. "optimizer.lr". */
  path: string
  name: string
  description: string
  /** What values it takes, in words: "integer, 1 to 1024", "one of: lora, locon, …". */
  type: string
  /** The default as YAML would show it, when the schema has one. */
  default?: string
}

export interface ChoiceDoc {
  value: string
  /** The registry's label, e.g. "LoRA"; absent for enums without a registry. */
  label?: string
  summary?: string
}

type Schema = Record<string, any>

/** The schema of the field at `path` (section names, then field names), or undefined when there is none. */
export function schemaAt(path: readonly string[]): Schema | undefined {
  let node: Schema | undefined = TrainConfigSchema
  for (const key of path) {
    node = objectOf(node)?.properties?.[key]
    if (!node) return undefined
  }
  return node
}

/** The fields a mapping at `path` may hold ([] = the sections), with their docs; [] when `path` is not a mapping. */
export function fieldsAt(path: readonly string[]): FieldDoc[] {
  const properties = objectOf(schemaAt(path))?.properties ?? {}
  return Object.keys(properties).map((name) => describeField([...path, name])!)
}

/** The values the field at `path` may take from a closed set (enums, booleans), each with its registry's words. */
export function choicesAt(path: readonly string[]): ChoiceDoc[] {
  const schema = schemaAt(path)
  if (!schema) return []
  const registry = REGISTRIES[path.join('.')]
  const values = variants(schema).flatMap((s): string[] => (s.enum ? s.enum.map(String) : s.type === 'boolean' ? ['true', 'false'] : s.type === 'null' ? ['null'] : []))
  return [...new Set(values)].map((value) => (registry?.[value] ? { value, label: registry[value].label, summary: registry[value].summary } : { value }))
}

/** Hover docs for the field at `path`, or undefined when the schema has no such field. */
export function describeField(path: readonly string[]): FieldDoc | undefined {
  const schema = schemaAt(path)
  if (!schema || path.length === 0) return undefined
  const registry = REGISTRIES[path.join('.')]
  // A registry enum's description lists every choice; the lead sentence is enough here, the choices come from choicesAt.
  const description = registry ? String(schema.description ?? '').split(/(?<=\.) /)[0] : String(schema.description ?? '')
  return {
    path: path.join('.'),
    name: path[path.length - 1],
    description,
    type: typeOf(schema),
    ...(schema.default !== undefined && { default: JSON.stringify(schema.default) }),
  }
}

/** Where the cursor sits in a YAML text: the keys of the mappings around it, and whether it is on a key or a value. */
export interface YamlPosition {
  /** Keys of the enclosing mappings, outermost first. */
  parents: string[]
  /** The key on the cursor's line, when the line has one ("lr" in "  lr: 0.1"). */
  key?: string
  /** The cursor is after the key's colon: a value is being written. */
  inValue: boolean
  /** The word being completed or hovered: the key on a key, else the text from the value's start to the cursor. */
  word: string
  /** Offsets of that word in the text: what a completion replaces, what a hover covers. */
  from: number
  to: number
}

/** Find the cursor's place in block-style YAML by indentation, as a person reads it; works on half-typed text that does not parse yet. */
export function yamlPositionAt(text: string, offset: number): YamlPosition {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1
  const lineEnd = text.indexOf('\n', offset)
  const line = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd)
  const column = offset - lineStart
  const indent = /^ */.exec(line)![0].length
  const keyMatch = /^ *([A-Za-z_][\w-]*)\s*:/.exec(line)
  const colon = keyMatch ? keyMatch[0].length : -1
  const inValue = keyMatch !== null && column >= colon

  const onKey = keyMatch !== null && !inValue
  const word = onKey ? keyMatch[1] : /[\w.-]*$/.exec(line.slice(0, column))![0]
  const from = lineStart + (onKey ? indent : column - word.length)
  const to = onKey ? from + word.length : lineStart + column + /^[\w.-]*/.exec(line.slice(column))![0].length

  // Walk up: each earlier line with a smaller indent and a bare "key:" opens an enclosing mapping.
  const parents: string[] = []
  let limit = keyMatch || line.trim() ? indent : column
  const earlier = text.slice(0, lineStart).split('\n')
  for (let i = earlier.length - 1; i >= 0 && limit > 0; i--) {
    const open = /^( *)([A-Za-z_][\w-]*)\s*:\s*(#.*)?$/.exec(earlier[i])
    if (!open || open[1].length >= limit) continue
    parents.unshift(open[2])
    limit = open[1].length
  }
  return {
    parents,
    ...(keyMatch && { key: keyMatch[1] }),
    inValue,
    word,
    from,
    to,
  }
}

/** An optional field may be wrapped in a Union with null (nullable); the mapping inside is what has fields. */
function objectOf(schema: Schema | undefined): Schema | undefined {
  return variants(schema).find((s) => s.type === 'object' && s.properties)
}

function variants(schema: Schema | undefined): Schema[] {
  if (!schema) return []
  return schema.anyOf ? schema.anyOf.flatMap(variants) : [schema]
}

function typeOf(schema: Schema): string {
  return variants(schema)
    .map((s) => {
      if (s.enum) return `one of: ${s.enum.join(', ')}`
      if (s.type === 'null') return 'null'
      if (s.type === 'array') return 'a list'
      if (s.type === 'object') return 'a mapping'
      const range = [
        s.minimum !== undefined && `≥ ${s.minimum}`,
        s.exclusiveMinimum !== undefined && `> ${s.exclusiveMinimum}`,
        s.maximum !== undefined && `≤ ${s.maximum}`,
        s.exclusiveMaximum !== undefined && `< ${s.exclusiveMaximum}`,
        s.multipleOf !== undefined && `a multiple of ${s.multipleOf}`,
      ].filter(Boolean)
      return range.length ? `${s.type}, ${range.join(', ')}` : String(s.type)
    })
    .join(' or ')
}
