// A compare cell's table of configs: one row per config field (dotted path),
// one column per run, rows whose values differ marked so the eye finds them.
import { LineCounter, parseDocument, type Node } from 'yaml'
import type { ConfigIssue } from '../config/validate.ts'

export interface ConfigRow {
  /** Dotted path, e.g. "method.rank". */
  path: string
  /** The value in each config, as text; "—" where a config lacks the field. */
  values: string[]
  differs: boolean
}

export const MISSING = '—'

/** Flatten resolved configs into rows, in the order fields first appear. */
export function configRows(configs: readonly unknown[]): ConfigRow[] {
  const flat = configs.map((config) => flatten(config, ''))
  const paths = [...new Set(flat.flatMap((f) => [...f.keys()]))]
  return paths.map((path) => {
    const values = flat.map((f) => f.get(path) ?? MISSING)
    return { path, values, differs: values.some((v) => v !== values[0]) }
  })
}

function flatten(value: unknown, prefix: string, out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix ? `${prefix}.${key}` : key, out)
  } else if (prefix) {
    // Lists (sample prompts) are one value: two runs differ if any item does.
    out.set(prefix, typeof value === 'string' ? value : JSON.stringify(value))
  }
  return out
}

export type CompareCellResult = { ok: true; cells: string[] } | { ok: false; issues: ConfigIssue[] }

/** A compare cell's YAML: `cells: [lora-r8, lokr-f8]`, the train cells whose latest runs to overlay. */
export function parseCompareCell(text: string): CompareCellResult {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  if (doc.errors.length) {
    return { ok: false, issues: doc.errors.map((e) => ({ path: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, line: lines.linePos(e.pos[0]).line })) }
  }
  const value = doc.toJS() ?? {}
  const line = (node: unknown) => {
    const offset = (node as Node | undefined)?.range?.[0]
    return offset === undefined ? undefined : lines.linePos(offset).line
  }
  const usage = 'a compare cell lists the train cells to compare, e.g. cells: [lora-r8, lokr-f8]'
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, issues: [{ path: '', message: usage, line: 1 }] }
  const issues: ConfigIssue[] = Object.keys(value)
    .filter((key) => key !== 'cells')
    .map((key) => ({ path: key, message: `unknown field "${key}"; ${usage}`, line: line(doc.getIn([key], true) ?? doc.contents) }))
  const cells = (value as { cells?: unknown }).cells
  if (!Array.isArray(cells) || cells.length === 0) {
    issues.push({ path: 'cells', message: `cells must be a list of one or more cell ids; ${usage}`, line: line(doc.getIn(['cells'], true) ?? doc.contents) })
  } else {
    cells.forEach((id, i) => {
      if (typeof id !== 'string' || !/^[\w.-]+$/.test(id)) {
        issues.push({ path: `cells.${i}`, message: `cells.${i} must be a cell id (letters, digits, - _ .), got ${JSON.stringify(id)}`, line: line(doc.getIn(['cells', i], true)) })
      } else if (cells.indexOf(id) !== i) {
        issues.push({ path: `cells.${i}`, message: `cell "${id}" is listed twice`, line: line(doc.getIn(['cells', i], true)) })
      }
    })
  }
  return issues.length ? { ok: false, issues } : { ok: true, cells: cells as string[] }
}
