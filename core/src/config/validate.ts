// Parse and validate a train cell's YAML once, at the edge, into a resolved
// TrainConfig, or into issues that name the YAML path (and line) of each fault.
import Value from 'typebox/value'
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml'
import { advise } from './advice.ts'
import { TrainConfigSchema, type TrainConfig } from './schema.ts'

export interface ConfigIssue {
  /** Dotted YAML path, e.g. "optimizer.lr"; "" for the whole document. */
  path: string
  message: string
  /** 1-based line in the YAML text, when the path exists there. */
  line?: number
}

export type ConfigResult =
  | { ok: true; config: TrainConfig; /** Valid but probably unintended: see advice.ts. */ warnings: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] }

/** Largest config text we accept; a cell body is a few hundred bytes. */
export const MAX_CONFIG_CHARS = 64 * 1024

export function parseConfig(yamlText: string): ConfigResult {
  if (yamlText.length > MAX_CONFIG_CHARS) {
    return { ok: false, issues: [{ path: '', message: `config is ${yamlText.length} characters; the limit is ${MAX_CONFIG_CHARS}` }] }
  }
  const read = readYaml(yamlText)
  if (!read.ok) return read
  const result = resolveConfig(read.value)
  read.locate(result.ok ? result.warnings : result.issues)
  return result
}

export type YamlRead =
  | { ok: true; value: unknown; /** Fill in each issue's line from its path, in place; returns them. */ locate(issues: ConfigIssue[]): ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] }

/** Parse a cell's YAML into a plain value, or into issues with their lines: the first step of every cell that has a YAML body. */
export function readYaml(text: string): YamlRead {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: '',
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
        line: lines.linePos(e.pos[0]).line,
      })),
    }
  }
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 100 }) ?? {}
  } catch (e) {
    // A document can parse yet fail to build: an alias to an undefined anchor, or an alias bomb.
    return { ok: false, issues: [{ path: '', message: `YAML: ${(e as Error).message}` }] }
  }
  const locate = (issues: ConfigIssue[]) => {
    for (const issue of issues) {
      const line = lineOf(doc.contents, issue.path, lines)
      if (line !== undefined) issue.line = line
    }
    return issues
  }
  return { ok: true, value, locate }
}

/** Validate a parsed config object, fill in defaults, and return it resolved. */
export function resolveConfig(value: unknown): ConfigResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, issues: [{ path: '', message: 'the config must be a mapping of sections (model, data, method, optimizer, scheduler, training)' }] }
  }
  const resolved = Value.Default(TrainConfigSchema, structuredClone(value))
  const issues = explain(resolved)
  if (issues.length) return { ok: false, issues }
  const config = resolved as TrainConfig
  return { ok: true, config, warnings: advise(config) }
}

function explain(value: unknown): ConfigIssue[] {
  const seen = new Set<string>()
  const issues: ConfigIssue[] = []
  for (const error of Value.Errors(TrainConfigSchema, value)) {
    // additionalProperties yields a second, vaguer error on the child ("schema is false"); keep the named one.
    if (error.keyword === 'boolean') continue
    const base = error.instancePath.split('/').slice(1).join('.')
    for (const issue of describe(error, base)) {
      const key = `${issue.path}|${issue.message}`
      if (!seen.has(key)) issues.push(issue), seen.add(key)
    }
  }
  return issues
}

function describe(error: { keyword: string; params: any; message: string; schemaPath: string }, path: string): ConfigIssue[] {
  const where = path || 'config'
  switch (error.keyword) {
    case 'additionalProperties': {
      const known = Object.keys(schemaAt(error.schemaPath)?.properties ?? {})
      return (error.params.additionalProperties as string[]).map((key) => ({
        path: path ? `${path}.${key}` : key,
        message: `unknown field "${key}" in ${where}; known: ${known.join(', ')}`,
      }))
    }
    case 'enum':
      return [{ path, message: `${where} must be one of: ${error.params.allowedValues.join(', ')}` }]
    case 'type':
      return [{ path, message: `${where} must be ${article(error.params.type)}` }]
    default:
      return [{ path, message: `${where} ${error.message}` }]
  }
}

function article(type: string) {
  return type === 'integer' ? 'an integer' : type === 'object' ? 'a mapping' : type === 'array' ? 'a list' : `a ${type}`
}

function schemaAt(schemaPath: string): any {
  let node: any = TrainConfigSchema
  for (const part of schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean)) node = node?.[part]
  return node
}

/** The line of a dotted YAML path ("sample.prompts.0.seed"), or of its nearest ancestor that exists. */
export function lineOf(contents: unknown, path: string, lines: LineCounter): number | undefined {
  let node = contents as Node | undefined
  let offset = node?.range?.[0]
  for (const key of path ? path.split('.') : []) {
    if (!(isMap(node) || isSeq(node))) break
    node = node.get(/^\d+$/.test(key) ? Number(key) : key, true) as Node | undefined
    if (!node) break
    offset = node.range?.[0] ?? offset
  }
  return offset === undefined ? undefined : lines.linePos(offset).line
}
