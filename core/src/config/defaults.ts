// Notebook defaults: a notebook's front matter is a config that every train
// cell inherits; the cell's own values win, merged section by section (and
// field by field inside a section). Client and server both call this, so the
// config a cell shows as resolved is the config the server runs.
import { isMap, LineCounter, parseDocument, stringify, type Document } from 'yaml'
import { parseConfig, type ConfigIssue, type ConfigResult } from './validate.ts'

/** Which text an issue is in: the notebook's front matter or the cell's own YAML. */
export type IssueSource = 'front matter' | 'cell'
export interface SourcedIssue extends ConfigIssue {
  source: IssueSource
}

export type MergeResult = { ok: true; text: string } | { ok: false; issues: SourcedIssue[] }

/**
 * The cell's YAML with the front matter's defaults filled in, as YAML text.
 * Without front matter the cell's text comes back unchanged, comments and lines included.
 */
export function mergeDefaults(frontMatter: string, cell: string): MergeResult {
  const defaults = readMapping(frontMatter, 'front matter')
  const own = readMapping(cell, 'cell')
  const issues = [...(defaults.ok ? [] : defaults.issues), ...(own.ok ? [] : own.issues)]
  if (!defaults.ok || !own.ok) return { ok: false, issues }
  if (!frontMatter.trim()) return { ok: true, text: cell }
  return { ok: true, text: stringify(merge(defaults.value, own.value)) }
}

/** Parse and validate a cell's config after the front matter's defaults; every issue says whether it lies in the front matter or the cell. */
export function parseCellConfig(frontMatter: string, cell: string): ConfigResult & { text?: string } {
  const merged = mergeDefaults(frontMatter, cell)
  if (!merged.ok) return merged
  const result = parseConfig(merged.text)
  if (merged.text === cell) return { ...result, text: merged.text }
  // Lines of the merged text mean nothing to the reader: point into the text each value came from.
  const docs = { cell: lined(cell), 'front matter': lined(frontMatter) }
  const place = (issue: ConfigIssue): SourcedIssue => {
    const keys = issue.path ? issue.path.split('.') : []
    const source: IssueSource = keys.length && !docs.cell.has(keys) && docs['front matter'].has(keys) ? 'front matter' : 'cell'
    const line = keys.length ? docs[source].line(keys) : undefined
    return {
      path: issue.path,
      message: source === 'front matter' ? `in the notebook's front matter: ${issue.message}` : issue.message,
      source,
      ...(line !== undefined && source === 'cell' && { line }),
    }
  }
  return result.ok ? { ...result, warnings: result.warnings.map(place), text: merged.text } : { ok: false, issues: result.issues.map(place) }
}

type Mapping = Record<string, unknown>

function readMapping(text: string, source: IssueSource): { ok: true; value: Mapping } | { ok: false; issues: SourcedIssue[] } {
  const where = source === 'front matter' ? "the notebook's front matter" : 'the cell'
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  if (doc.errors.length) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: '',
        source,
        message: `YAML syntax in ${where}: ${e.message.split('\n')[0]}`,
        ...(source === 'cell' && { line: lines.linePos(e.pos[0]).line }),
      })),
    }
  }
  const value = doc.toJS() ?? {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, issues: [{ path: '', source, message: `${where} must be a mapping of config sections (model, data, method, optimizer, ...)` }] }
  }
  return { ok: true, value }
}

/** Mappings merge key by key, recursively; anything else (a number, a list, null) the cell sets replaces the default whole. */
function merge(defaults: Mapping, own: Mapping): Mapping {
  const out: Mapping = { ...defaults }
  for (const [key, value] of Object.entries(own)) {
    const base = out[key]
    out[key] = isPlainMapping(base) && isPlainMapping(value) ? merge(base, value) : value
  }
  return out
}

const isPlainMapping = (v: unknown): v is Mapping => v !== null && typeof v === 'object' && !Array.isArray(v)

function lined(text: string): { has(keys: string[]): boolean; line(keys: string[]): number | undefined } {
  const lines = new LineCounter()
  const doc: Document = parseDocument(text, { lineCounter: lines })
  const node = (keys: string[]) => (isMap(doc.contents) ? (doc.getIn(keys, true) as { range?: number[] } | undefined) : undefined)
  return {
    has: (keys) => isMap(doc.contents) && doc.hasIn(keys),
    line: (keys) => {
      const offset = node(keys)?.range?.[0]
      return offset === undefined ? undefined : lines.linePos(offset).line
    },
  }
}
