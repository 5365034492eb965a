// A size cell's YAML: a method section (validated exactly as a train cell's,
// through resolveConfig), the architectures to compare and the precision of the
// saved file, read into sizes computed in the browser on every keystroke.
import { readYaml, resolveConfig, type ConfigIssue } from '../config/validate.ts'
import { adapterSize, ARCHITECTURES, PRECISIONS, type Architecture, type MethodConfig, type Precision, type SizeResult } from './index.ts'

export interface SizePreview {
  method: MethodConfig
  architectures: Architecture[]
  precision: Precision
  /** One per architecture, in the order asked; a refusal names the field. */
  results: SizeResult[]
}

export type SizeCellResult = { ok: true; preview: SizePreview; issues: ConfigIssue[] } | { ok: false; issues: ConfigIssue[] }

const TOP_LEVEL = ['method', 'architecture', 'precision']

export function parseSizeCell(text: string): SizeCellResult {
  const read = readYaml(text)
  if (!read.ok) return read
  const located = read.locate
  const value: any = read.value // checked below, field by field
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, issues: located([{ path: '', message: `a size cell is a mapping with ${TOP_LEVEL.join(', ')}` }]) }
  }
  const issues: ConfigIssue[] = Object.keys(value)
    .filter((key) => !TOP_LEVEL.includes(key))
    .map((key) => ({ path: key, message: `unknown field "${key}" in a size cell; known: ${TOP_LEVEL.join(', ')}` }))

  const architectures = [value.architecture ?? 'sdxl'].flat()
  architectures.forEach((a, i) => {
    if (!ARCHITECTURES.includes(a)) {
      const path = Array.isArray(value.architecture) ? `architecture.${i}` : 'architecture'
      issues.push({ path, message: `${path} must be one of: ${ARCHITECTURES.join(', ')} (or a list of them), got ${JSON.stringify(a)}` })
    }
  })
  const precision = value.precision ?? 'fp16'
  if (!(precision in PRECISIONS)) issues.push({ path: 'precision', message: `precision (of the saved file) must be one of: ${Object.keys(PRECISIONS).join(', ')}, got ${JSON.stringify(precision)}` })

  const resolved = resolveConfig({ method: value.method ?? {} })
  if (!resolved.ok) issues.push(...resolved.issues)
  if (issues.length || !resolved.ok) return { ok: false, issues: located(issues) }

  const method = resolved.config.method
  const results = [...new Set(architectures as Architecture[])].map((a) => adapterSize(a, method, precision as Precision))
  const refusals = results.flatMap((r) => (r.ok ? [] : [r.issue]))
  return { ok: true, preview: { method, architectures: [...new Set(architectures as Architecture[])], precision: precision as Precision, results }, issues: located(refusals) }
}
