// An sd-scripts training TOML (--config_file), with or without its dataset TOML
// (--dataset_config), or a kohya_ss GUI preset (JSON), as the YAML of a train
// cell. The values go through the same table as the export (sd-scripts-table.ts);
// what is not imported is listed in a comment at the top with the reason, so
// nothing is dropped silently. Bad files fail with the file and key or line.
import { parse as parseToml, TomlError } from 'smol-toml'
import { Document, isMap, isScalar, type YAMLMap } from 'yaml'
import type { TrainConfig } from '../config/schema.ts'
import { resolveConfig } from '../config/validate.ts'
import { kohyaPresetArgs } from './kohya-ss.ts'
import { AS_TUNEBOOK, NOT_TAKEN, ROWS, valueAt, type ArgReader } from './sd-scripts-table.ts'

export interface ImportFile {
  name: string
  text: string
}

export interface ImportResult {
  /** The train cell's YAML: the comment block, then every imported value. */
  yaml: string
  /** The imported values as a config the cell would hold (before defaults). */
  config: Record<string, unknown>
  /** "key = value (why)", one per value read but not imported. */
  notImported: string[]
}

export class ImportError extends Error {}

interface Origin {
  file: string
  key: string
  line?: number
}
type Args = Map<string, { value: unknown; origin: Origin }>
interface Skipped {
  label: string
  value: unknown
  reason: string
  inert: boolean
}

const DEFAULTS = (() => {
  const result = resolveConfig({})
  if (!result.ok) throw new Error('the schema defaults do not validate')
  return result.config
})()

/** One or two files, in any order: a training TOML or a kohya_ss preset, and optionally a dataset TOML. */
export function importTrainConfig(files: readonly ImportFile[]): ImportResult {
  if (files.length === 0 || files.length > 2) throw new ImportError('choose one training file (TOML or kohya_ss JSON), optionally with its dataset TOML')
  const args: Args = new Map()
  const skipped: Skipped[] = []
  const read = files.map((file) => ({ file, kind: readFile(file) }))
  if (read.filter((r) => r.kind.dataset).length > 1 || read.filter((r) => !r.kind.dataset).length > 1)
    throw new ImportError(`${files.map((f) => f.name).join(' and ')}: give one training file and at most one dataset TOML`)
  // The dataset TOML goes last: its values win over the training file's, as in sd-scripts.
  for (const { kind } of read.sort((a, b) => Number(a.kind.dataset) - Number(b.kind.dataset))) kind.into(args, skipped)

  const sets = new Map<string, { value: unknown; origin: Origin }>()
  const assumed: { path: string; value: unknown; arg: string; when?: (c: TrainConfig) => boolean }[] = []
  const reader: ArgReader = {
    take(arg) {
      const entry = args.get(arg)
      args.delete(arg)
      if (entry) lastOrigin.set(arg, entry.origin)
      return entry?.value
    },
    peek: (arg) => args.get(arg)?.value,
    set(path, value, arg) {
      sets.set(path, { value, origin: lastOrigin.get(arg) ?? { file: files[0].name, key: arg } })
    },
    assume(path, value, arg, when) {
      assumed.push({ path, value, arg, when })
    },
    skip(label, value, reason, inert) {
      skipped.push({ label, value, reason, inert: inert ?? isOff(value) })
    },
  }
  const lastOrigin = new Map<string, Origin>()
  for (const row of ROWS) row.read(reader)
  // A value at which sd-scripts does what tunebook does anyway changes nothing, like one that is off.
  for (const [arg, { value }] of args) reader.skip(arg, value, NOT_TAKEN[arg] ?? 'no tunebook equivalent', isOff(value) || value === AS_TUNEBOOK[arg])

  const config = build(sets)
  const imported = validate(config, sets)
  const defaults: string[] = []
  for (const { path, value, arg, when } of assumed) {
    // A row for a field this schema lacks stays inert; so does one whose default tunebook shares.
    const ours = valueAt(DEFAULTS, path)
    if (sets.has(path) || ours === undefined || ours === value || (when && !when(imported))) continue
    place(config, path, value)
    defaults.push(path)
  }
  validate(config, sets)
  return { yaml: toYaml(config, files, skipped, defaults), config, notImported: skipped.filter((s) => !s.inert).map(describe) }
}

/** What a file is, and how its keys become sd-scripts arguments. */
function readFile(file: ImportFile): { dataset: boolean; into(args: Args, skipped: Skipped[]): void } {
  if (/\.json$/i.test(file.name) || file.text.trimStart().startsWith('{')) {
    const preset = parseJson(file)
    return {
      dataset: false,
      into(args, skipped) {
        for (const entry of kohyaPresetArgs(preset)) {
          if ('skip' in entry) skipped.push({ label: entry.skip, value: entry.value, reason: entry.reason, inert: entry.inert ?? false })
          else args.set(entry.arg, { value: entry.value, origin: { file: file.name, key: entry.key, line: jsonLine(file.text, entry.key) } })
        }
      },
    }
  }
  const doc = parseTomlFile(file)
  if (Array.isArray(doc.datasets) || doc.general !== undefined) return { dataset: true, into: (args, skipped) => readDataset(file, doc, args, skipped) }
  return {
    dataset: false,
    into(args) {
      // sd-scripts flattens one level of tables ([model_arguments], [training] ...) into its arguments.
      for (const [key, value] of Object.entries(doc)) {
        if (isTable(value)) for (const [inner, v] of Object.entries(value)) args.set(inner, { value: v, origin: { file: file.name, key: `${key}.${inner}`, line: tomlLine(file.text, inner) } })
        else args.set(key, { value, origin: { file: file.name, key, line: tomlLine(file.text, key) } })
      }
    },
  }
}

// Dataset keys named differently from the training arguments they stand for.
const DATASET_RENAMES: Record<string, string> = { batch_size: 'train_batch_size', caption_extention: 'caption_extension' }

/** [general], the first [[datasets]] and its [[datasets.subsets]] as arguments; the image folders as data.path. */
function readDataset(file: ImportFile, doc: Record<string, unknown>, args: Args, skipped: Skipped[]) {
  const put = (key: string, value: unknown, where: string) => {
    const arg = DATASET_RENAMES[key] ?? key
    const before = args.get(arg)
    if (before && before.origin.file !== file.name && JSON.stringify(before.value) !== JSON.stringify(value)) skipped.push({ label: `${before.origin.key}`, value: before.value, reason: `${file.name} sets ${where}`, inert: false })
    args.set(arg, { value, origin: { file: file.name, key: where, line: tomlLine(file.text, key) } })
  }
  if (doc.general !== undefined && !isTable(doc.general)) throw new ImportError(`${file.name}: general: must be a table ([general])`)
  for (const [key, value] of Object.entries((doc.general ?? {}) as Record<string, unknown>)) put(key, value, `general.${key}`)
  const datasets = (doc.datasets ?? []) as unknown[]
  if (!datasets.every(isTable)) throw new ImportError(`${file.name}: datasets: must be tables ([[datasets]])`)
  datasets.slice(1).forEach((d, i) => skipped.push({ label: `datasets[${i + 1}]`, value: '{…}', reason: 'tunebook trains one dataset; the first is imported', inert: false }))
  const dataset = (datasets[0] ?? {}) as Record<string, unknown>
  for (const [key, value] of Object.entries(dataset)) if (key !== 'subsets') put(key, value, `datasets[0].${key}`)
  const subsets = (dataset.subsets ?? []) as Record<string, unknown>[]
  if (!Array.isArray(subsets) || !subsets.every(isTable)) throw new ImportError(`${file.name}: datasets[0].subsets: must be tables ([[datasets.subsets]])`)
  // is_reg subsets hold the regularization images (reg_data_dir); the others alone are the training images (train_data_dir).
  const all: Subset[] = subsets.map((subset, i) => ({ subset, where: `datasets[0].subsets[${i}]` }))
  const train = all.filter(({ subset }) => subset.is_reg !== true)
  const reg = all.filter(({ subset }) => subset.is_reg === true)
  // The caption settings are the first training subset's; tunebook reads the regularization images with them too.
  const ordered = [...train, ...reg]
  for (const { subset, where } of ordered)
    for (const [key, value] of Object.entries(subset)) {
      if (key === 'image_dir' || key === 'num_repeats' || key === 'is_reg') continue
      if (subset === ordered[0].subset) put(key, value, `${where}.${key}`)
      else if (JSON.stringify(value) !== JSON.stringify(ordered[0].subset[key]))
        skipped.push({
          label: `${where}.${key}`,
          value,
          reason: subset.is_reg === true ? 'tunebook reads regularization images with the caption settings of the training images (those of the first subset)' : 'tunebook gives every folder the same caption settings (those of the first subset)',
          inert: false,
        })
    }
  readFolders(train, 'train_data_dir', 'data.path', put, skipped)
  readFolders(reg, 'reg_data_dir', 'data.reg_path', put, skipped)
}

type Subset = { subset: Record<string, unknown>; where: string }

/**
 * tunebook reads kohya's layout: `field` holds <repeats>_<name> folders, each folder's repeats in its name.
 * The subsets' common parent becomes `arg`; subsets outside the layout, or in different parents, are listed as not imported.
 */
function readFolders(subsets: Subset[], arg: string, field: string, put: (key: string, value: unknown, where: string) => void, skipped: Skipped[]) {
  if (subsets.length === 0) return
  const parents = subsets.map(({ subset: { image_dir: dir, num_repeats: repeats } }) => {
    const match = typeof dir === 'string' ? /^(.*)[/\\](\d+)_[^/\\]+[/\\]?$/.exec(dir) : null
    return match && (repeats === undefined || Number(match[2]) === repeats) ? match[1] : undefined
  })
  if (parents.every((p) => p !== undefined && p === parents[0])) put(arg, parents[0], `${subsets[0].where}.image_dir`)
  else
    for (const { subset, where } of subsets)
      skipped.push({
        label: `${where}.image_dir`,
        value: `${subset.image_dir} (num_repeats ${subset.num_repeats ?? 1})`,
        reason: `tunebook reads one folder of <repeats>_<name> folders (${field}): put each subset in <parent>/<num_repeats>_<name> and set ${field} to <parent>`,
        inert: false,
      })
}

function parseJson(file: ImportFile): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(file.text)
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message)
    const line = at ? file.text.slice(0, Number(at[1])).split('\n').length : undefined
    throw new ImportError(`${file.name}: ${line ? `line ${line}: ` : ''}not valid JSON (${(e as Error).message})`)
  }
  if (!isTable(value)) throw new ImportError(`${file.name}: a kohya_ss preset is a JSON object of settings`)
  return value
}

function parseTomlFile(file: ImportFile): Record<string, unknown> {
  try {
    return parseToml(file.text) as Record<string, unknown>
  } catch (e) {
    if (e instanceof TomlError) throw new ImportError(`${file.name}: line ${e.line}, column ${e.column}: ${e.message.split('\n')[0].replace(/^Invalid TOML document: /, '')}`)
    throw e
  }
}

const isTable = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
const isOff = (value: unknown) => value === false || value === '' || value === 0 || value === null || value === 'False' || value === '0' || (Array.isArray(value) && value.length === 0)
const lineOf = (text: string, pattern: RegExp) => {
  const at = text.search(pattern)
  return at < 0 ? undefined : text.slice(0, at).split('\n').length
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const tomlLine = (text: string, key: string) => lineOf(text, new RegExp(`^[ \\t]*${escape(key)}[ \\t]*=`, 'm'))
const jsonLine = (text: string, key: string) => lineOf(text, new RegExp(`"${escape(key)}"\\s*:`))

function place(config: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split('.')
  let at = config
  for (const key of keys.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>
  at[keys.at(-1)!] = value
}

function build(sets: Map<string, { value: unknown }>): Record<string, unknown> {
  const config: Record<string, unknown> = {}
  for (const [path, { value }] of sets) place(config, path, value)
  return config
}

/** The config resolved, or an error naming the file and key each bad value came from. */
function validate(config: Record<string, unknown>, sets: Map<string, { value: unknown; origin: Origin }>): TrainConfig {
  const result = resolveConfig(structuredClone(config))
  if (result.ok) return result.config
  throw new ImportError(
    result.issues
      .map((issue) => {
        const from = [...sets].filter(([path]) => issue.path === path || issue.path.startsWith(`${path}.`) || path.startsWith(`${issue.path}.`))
        const origin = from.sort((a, b) => b[0].length - a[0].length)[0]?.[1].origin
        const where = origin ? `${origin.file}: ${origin.line ? `line ${origin.line}, ` : ''}${origin.key}` : 'imported config'
        return `${where}: ${issue.path ? `${issue.path} ` : ''}${issue.message}`
      })
      .join('\n'),
  )
}

/** Names joined with commas, in lines of at most `width` characters. */
function wrap(names: string[], width: number): string[] {
  const lines = ['']
  for (const name of names) {
    const last = lines.length - 1
    if (lines[last] && lines[last].length + name.length + 2 > width) lines.push('')
    lines[lines.length - 1] += lines[lines.length - 1] ? `, ${name}` : name
  }
  return lines
}

const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? JSON.stringify(value) : String(value))
const describe = (s: Skipped) => `${s.label} = ${show(s.value)} (${s.reason})`

function toYaml(config: Record<string, unknown>, files: readonly ImportFile[], skipped: Skipped[], defaults: string[]): string {
  const doc = new Document(config)
  const header = [`Imported from ${files.map((f) => f.name).join(' + ')} (sd-scripts / kohya_ss).`]
  if (defaults.length) header.push("Marked \"sd-scripts default\": not in the files, so what sd-scripts does without them.")
  const loud = skipped.filter((s) => !s.inert)
  if (loud.length) header.push('not imported:', ...loud.map((s) => `  ${describe(s)}`))
  const quiet = skipped.filter((s) => s.inert)
  if (quiet.length) header.push('not imported, nothing to do (off, empty, or what tunebook does anyway):', ...wrap(quiet.map((s) => s.label), 100).map((line) => `  ${line}`))
  doc.commentBefore = header.map((line) => ` ${line}`).join('\n')
  for (const path of defaults) {
    const keys = path.split('.')
    const parent = keys.length > 1 ? doc.getIn(keys.slice(0, -1), true) : doc.contents
    const node = isMap(parent) ? (parent as YAMLMap).get(keys.at(-1)!, true) : undefined
    if (isScalar(node)) node.comment = " sd-scripts default"
  }
  return doc.toString({ lineWidth: 0 })
}
