// A schedule cell's YAML, read into LR curves for an instant preview: the
// optimizer's base LR, the run length (max_steps, or counted from images,
// repeats, epochs, batch size and accumulation as sd-scripts counts it), and
// one or more scheduler sections to overlay. Scheduler and optimizer sections
// are validated exactly as a train cell's are (resolveConfig), so a preview
// never accepts what a run would reject.
import { OPTIMIZERS } from '../config/schema.ts'
import { readYaml, resolveConfig, type ConfigIssue } from '../config/validate.ts'
import { markers, optimizerSteps, schedule, type Marker, type SchedulePoint } from '../schedules/index.ts'

export interface ScheduleLine {
  label: string
  points: SchedulePoint[]
  markers: Marker[]
}

export interface SchedulePreview {
  total: number
  /** How `total` was reached, in words and arithmetic. */
  formula: string
  lr: number
  /** For optimizers that choose their own step size: the curve is only a multiplier on it. */
  adaptiveNote?: string
  schedules: ScheduleLine[]
}

export type ScheduleCellResult =
  | { ok: true; preview: SchedulePreview; warnings: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] }

const TOP_LEVEL = ['optimizer', 'scheduler', 'steps', 'compare']
const EPOCH_FIELDS = { images: 20, repeats: 1, epochs: 1, batch_size: 4, gradient_accumulation: 1 }
/** The train config's default run length (training.max_steps). */
const DEFAULT_STEPS = 40
/** The train config's limit on training.max_steps: a preview may be as long as a run. */
const MAX_STEPS = 1_000_000

export function parseScheduleCell(text: string): ScheduleCellResult {
  const read = readYaml(text)
  if (!read.ok) return read
  const located = read.locate
  const value = read.value
  if (!isRecord(value)) return { ok: false, issues: located([{ path: '', message: `a schedule cell is a mapping with ${TOP_LEVEL.join(', ')}` }]) }

  const issues: ConfigIssue[] = Object.keys(value)
    .filter((key) => !TOP_LEVEL.includes(key))
    .map((key) => ({ path: key, message: `unknown field "${key}" in a schedule cell; known: ${TOP_LEVEL.join(', ')}` }))
  const steps = runLength(value.steps, issues)
  if (value.compare !== undefined && !Array.isArray(value.compare)) {
    issues.push({ path: 'compare', message: 'compare must be a list of scheduler sections to overlay, e.g. - name: linear' })
  }
  const sections: { path: string; section: unknown }[] = [
    { path: 'scheduler', section: value.scheduler ?? {} },
    ...(Array.isArray(value.compare) ? value.compare.map((section, i) => ({ path: `compare.${i}`, section })) : []),
  ]
  const warnings: ConfigIssue[] = []
  const schedules: ScheduleLine[] = []
  let resolvedOptimizer: { name: keyof typeof OPTIMIZERS; lr: number } | undefined
  for (const { path, section } of sections) {
    const { label, ...scheduler } = isRecord(section) ? section : { label: undefined }
    if (label !== undefined && typeof label !== 'string') issues.push({ path: `${path}.label`, message: `${path}.label must be a string` })
    const resolved = resolveConfig({ optimizer: value.optimizer ?? {}, scheduler: isRecord(section) ? scheduler : section })
    const rename = (issue: ConfigIssue) => {
      const renamed = issue.path.replace(/^scheduler(?=\.|$)/, path)
      return { ...issue, path: renamed, message: issue.message.replaceAll(issue.path, renamed) }
    }
    if (!resolved.ok) {
      issues.push(...resolved.issues.map(rename))
      continue
    }
    warnings.push(...resolved.warnings.map(rename))
    resolvedOptimizer = resolved.config.optimizer
    if (steps === undefined) continue
    const config = resolved.config.scheduler
    schedules.push({
      label: typeof label === 'string' ? label : config.name,
      points: schedule(config, resolved.config.optimizer.lr, steps.total),
      markers: markers(config, steps.total),
    })
  }
  if (issues.length || !steps || !resolvedOptimizer) return { ok: false, issues: located(dedupe(issues)) }
  return {
    ok: true,
    warnings: located(dedupe(warnings)),
    preview: {
      total: steps.total,
      formula: steps.formula,
      lr: resolvedOptimizer.lr,
      adaptiveNote: (OPTIMIZERS[resolvedOptimizer.name] as { adaptive?: { note: string } }).adaptive?.note,
      schedules: uniqueLabels(schedules),
    },
  }
}

/** The run's optimizer steps: steps.max_steps, or counted from the epoch fields. */
function runLength(value: unknown, issues: ConfigIssue[]): { total: number; formula: string } | undefined {
  if (value === undefined) return { total: DEFAULT_STEPS, formula: `${DEFAULT_STEPS} steps (training.max_steps' default; set steps.max_steps, or steps.epochs with images, repeats, batch_size)` }
  if (!isRecord(value)) {
    issues.push({ path: 'steps', message: 'steps must be a mapping: max_steps, or images, repeats, epochs, batch_size, gradient_accumulation' })
    return undefined
  }
  const known = ['max_steps', ...Object.keys(EPOCH_FIELDS)]
  const before = issues.length
  for (const [key, v] of Object.entries(value)) {
    if (!known.includes(key)) issues.push({ path: `steps.${key}`, message: `unknown field "${key}" in steps; known: ${known.join(', ')}` })
    else if (!(Number.isInteger(v) && (v as number) >= 1)) issues.push({ path: `steps.${key}`, message: `steps.${key} must be a whole number of at least 1, got ${JSON.stringify(v)}` })
  }
  const epochFields = Object.keys(value).filter((key) => key in EPOCH_FIELDS)
  if (value.max_steps !== undefined && epochFields.length) {
    issues.push({ path: 'steps.max_steps', message: `give either steps.max_steps or the epoch fields (${epochFields.join(', ')}), not both: the trainer ignores max_steps when epochs is set` })
  }
  if (issues.length > before) return undefined
  const count =
    value.max_steps !== undefined
      ? { total: value.max_steps as number, formula: `${value.max_steps} steps (steps.max_steps)` }
      : epochCount({ ...EPOCH_FIELDS, ...value } as typeof EPOCH_FIELDS)
  if (count.total > MAX_STEPS) {
    issues.push({ path: 'steps', message: `the run would take ${count.total} optimizer steps; a run (and so a preview) is limited to ${MAX_STEPS}` })
    return undefined
  }
  return count
}

function epochCount(f: typeof EPOCH_FIELDS) {
  const count = optimizerSteps({ images: f.images, repeats: f.repeats, epochs: f.epochs, batchSize: f.batch_size, accumulation: f.gradient_accumulation })
  return { total: count.steps, formula: count.formula }
}

/** Two schedules of one name read apart in a legend: "cosine", "cosine (2)". */
function uniqueLabels(schedules: ScheduleLine[]): ScheduleLine[] {
  const seen = new Map<string, number>()
  return schedules.map((s) => {
    const n = (seen.get(s.label) ?? 0) + 1
    seen.set(s.label, n)
    return n === 1 ? s : { ...s, label: `${s.label} (${n})` }
  })
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>()
  return issues.filter((i) => !seen.has(`${i.path}|${i.message}`) && seen.add(`${i.path}|${i.message}`))
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
