// The one table between a tunebook config and kohya sd-scripts' arguments.
// Each row knows the config fields and the sd-scripts arguments it covers and
// converts in both directions: `write` for the export (sd-scripts.ts), `read`
// for the import (sd-scripts-import.ts). A row's `sd` is what sd-scripts does
// when the argument is absent, in tunebook's terms: the export leaves out what
// equals it, the import assumes it for what a file leaves out.
import { type MethodName, type SchedulerName, type TrainConfig } from '../config/schema.ts'
import { drawsRegImages } from '../config/sections/data.ts'
import { READERS } from '../config/sections/method.ts'
import { resolveConfig } from '../config/validate.ts'
import { formatPyValue, parsePyValue, splitKeyValues } from './python-args.ts'

export type Value = string | number | boolean | readonly string[]
/** One argument (true: a bare flag), or a note about a field sd-scripts cannot take. */
export type SdScriptsLine = { arg: string; value: Value } | { note: string }

export interface SdScriptsOptions {
  /** sd-scripts' --pretrained_model_name_or_path; default: the config's model (a folder under models/ for shipped ones). */
  modelPath?: string
  /** Where sd-scripts writes the adapter. */
  outputDir?: string
  outputName?: string
  /** The images in kohya's <repeats>_<name> layout; default: data.path for a folder source. */
  trainDataDir?: string
}

/** What a row's read side works with: the files' arguments in, config values and reasons out. */
export interface ArgReader {
  /** The argument's value, marked as read; undefined when the files do not set it. */
  take(arg: string): unknown
  /** The argument's value, left for its own row to read. */
  peek(arg: string): unknown
  /** An imported value for a config path, read from `arg`. */
  set(path: string, value: unknown, arg: string): void
  /** sd-scripts' behaviour for an argument the files leave out; applied where `when` holds for the imported config. */
  assume(path: string, value: unknown, arg: string, when?: (config: TrainConfig) => boolean): void
  /** A value that was read but not imported, and why; `inert` when it would change nothing (sd-scripts' own default). */
  skip(label: string, value: unknown, reason: string, inert?: boolean): void
}

export interface Row {
  /** The sd-scripts arguments this row writes and reads. */
  args: readonly string[]
  write(config: TrainConfig, options: SdScriptsOptions): SdScriptsLine[]
  read(args: ArgReader): void
}

const arg = (name: string, value: Value): SdScriptsLine => ({ arg: name, value })
const note = (text: string): SdScriptsLine => ({ note: text })

/** A config value by dotted path ("training.batch_size"). */
export const valueAt = (config: object, path: string): unknown =>
  path.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], config)

interface FieldSpec {
  /** sd-scripts' behaviour when the argument is absent, as a value of the field. */
  sd?: unknown
  /** A store_true flag: written bare when the (converted) value is true. */
  flag?: boolean
  /** The argument only matters when this holds (e.g. bucket sizes with buckets on). */
  when?: (config: TrainConfig) => boolean
  toArg?: (value: any) => Value
  fromArg?: (value: any) => unknown
}

/** A row for one config field and one sd-scripts argument. */
function field(path: string, name: string, spec: FieldSpec = {}): Row {
  const { sd, flag, when, toArg = (v) => v, fromArg = (v) => v } = spec
  return {
    args: [name],
    write(config) {
      const value = valueAt(config, path)
      if (value === undefined || value === null || value === sd || (when && !when(config))) return []
      const converted = toArg(value)
      if (flag) return converted === true ? [arg(name, true)] : []
      return [arg(name, converted)]
    },
    read(r) {
      const raw = r.take(name)
      if (raw !== undefined) r.set(path, fromArg(raw), name)
      else if (sd !== undefined) r.assume(path, sd, name, when)
    },
  }
}

/** "1024,1024", "1024" or 1024 as a square side; a non-square resolution has no tunebook equivalent. */
function squareSide(value: unknown): unknown {
  const sides = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',').map((s) => Number(s.trim())) : [value]
  return sides.every((s) => s === sides[0]) ? sides[0] : { notSquare: value }
}

// ---- method -------------------------------------------------------------

// LyCORIS's algorithm behind each method, through sd-scripts' lycoris.kohya network module.
const ALGOS: Record<MethodName, string> = {
  lora: 'lora',
  locon: 'locon',
  loha: 'loha',
  lokr: 'lokr',
  dylora: 'dylora',
  ia3: 'ia3',
  oft: 'diag-oft',
  boft: 'boft',
  dora: 'lora',
  glora: 'glora',
  full: 'full',
}
// Other spellings LyCORIS accepts for an algorithm.
const ALGO_ALIASES: Record<string, MethodName> = { oft: 'oft', 'lo-ha': 'loha', 'lo-kr': 'lokr' }
const CONV_METHODS: MethodName[] = ['locon', 'loha', 'lokr']
const OFT_METHODS: MethodName[] = ['oft', 'boft']
const DEFAULT_BLOCK_SIZE: Partial<Record<MethodName, number>> = { dylora: 4, oft: 4, boft: 16 }

/** The method fields sd-scripts passes on as network_args, the methods that read each, and the value that means off (left out). */
const NETWORK_ARGS: { key: string; field: keyof TrainConfig['method']; methods: readonly MethodName[]; off?: unknown }[] = [
  { key: 'conv_dim', field: 'conv_rank', methods: CONV_METHODS },
  { key: 'conv_alpha', field: 'conv_alpha', methods: CONV_METHODS },
  { key: 'factor', field: 'factor', methods: ['lokr'] },
  // LyCORIS passes some flags on as the raw string, where "False" would read as true: leave false ones out.
  { key: 'decompose_both', field: 'decompose_both', methods: ['lokr'], off: false },
  { key: 'block_size', field: 'block_size', methods: ['dylora'] },
  { key: 'constraint', field: 'constraint', methods: OFT_METHODS },
  { key: 'rescaled', field: 'rescaled', methods: OFT_METHODS, off: false },
  // networks.lora reads these two as well.
  { key: 'rank_dropout', field: 'rank_dropout', methods: READERS.rank_dropout, off: 0 },
  { key: 'module_dropout', field: 'module_dropout', methods: READERS.module_dropout, off: 0 },
  { key: 'loraplus_lr_ratio', field: 'loraplus_lr_ratio', methods: READERS.loraplus_lr_ratio, off: null },
  // networks.lora always scales its rank dropout (see methodRow).
  { key: 'rank_dropout_scale', field: 'rank_dropout_scale', methods: READERS.rank_dropout.filter((m) => m !== 'lora'), off: false },
]
/** tunebook wraps attention and feed-forward layers only, unless the method reaches the convolutions. */
const presetOf = (name: MethodName) => (CONV_METHODS.includes(name) || name === 'full' ? undefined : 'attn-mlp')

const methodRow: Row = {
  args: ['network_module', 'network_args', 'network_dim', 'network_alpha', 'network_dropout'],
  write({ method }) {
    const blockSize = method.block_size ?? DEFAULT_BLOCK_SIZE[method.name]
    const oft = OFT_METHODS.includes(method.name)
    const preset = presetOf(method.name)
    const given = NETWORK_ARGS.filter((a) => a.methods.includes(method.name))
      .map((a) => [a.key, a.field === 'block_size' ? blockSize : method[a.field], a.off] as const)
      .filter(([, value, off]) => value !== off)
      .map(([key, value]) => `${key}=${formatPyValue(value)}`)
    const lines: SdScriptsLine[] = []
    if (method.name === 'lora') lines.push(arg('network_module', 'networks.lora'), ...(given.length ? [arg('network_args', given)] : []))
    else {
      const networkArgs = [`algo=${ALGOS[method.name]}`, ...given, ...(method.name === 'dora' ? ['dora_wd=True'] : []), ...(preset ? [`preset=${preset}`] : [])]
      lines.push(arg('network_module', 'lycoris.kohya'), arg('network_args', networkArgs))
    }
    // LyCORIS reads OFT's block size from network_dim.
    lines.push(arg('network_dim', oft ? blockSize! : method.rank), arg('network_alpha', method.alpha))
    // sd-scripts hands network_dropout to LyCORIS as its dropout.
    if (method.dropout) lines.push(arg('network_dropout', method.dropout))
    if (method.name === 'lora' && method.rank_dropout && !method.rank_dropout_scale)
      lines.push(note("method.rank_dropout_scale: false, and sd-scripts' networks.lora always scales the kept ranks up by 1/(1 - rank_dropout), as true does here"))
    if (method.name !== 'lora' && method.rank_dropout && method.rank_dropout_scale)
      lines.push(note("method.rank_dropout_scale: LyCORIS scales by the share of ranks each step keeps, not by 1/(1 - rank_dropout), and fails with NaN when a layer drops them all"))
    if (method.name === 'lora' && method.dropout)
      lines.push(note("method.dropout: sd-scripts' networks.lora drops the update's r hidden features, tunebook's LoRA (LyCORIS) its outputs; both are dropout on the adapter's path, at the same rate"))
    if (method.name === 'lora') lines.push(note("method lora: sd-scripts' networks.lora also wraps each transformer's proj_in/proj_out, which tunebook's LoRA leaves alone; its file is slightly larger"))
    if (method.embedding_words.length)
      lines.push(note(`method.embedding_words: [${method.embedding_words.join(', ')}] train beside the adapter here; sd-scripts' network training trains no word embeddings, so there the adapter learns the concept alone`))
    return lines
  },
  read(r) {
    const module = r.take('network_module') ?? 'networks.lora'
    const rawArgs = r.take('network_args') as string[] | string | undefined
    const given = new Map(splitKeyValues(rawArgs ?? []).map(({ key, value }) => [key, value]))
    const take = (key: string) => {
      const value = given.get(key)
      given.delete(key)
      return value
    }
    let name: MethodName
    if (module === 'networks.lora') name = given.has('conv_dim') ? 'locon' : 'lora'
    else if (module === 'networks.dylora') {
      name = 'dylora'
      if (given.has('unit')) given.set('block_size', take('unit')!)
    } else if (module === 'lycoris.kohya') {
      const algo = (take('algo') ?? 'lora').toLowerCase()
      const dora = parsePyValue(take('dora_wd') ?? 'False') === true
      const found = (Object.keys(ALGOS) as MethodName[]).find((m) => ALGOS[m] === algo && m !== 'dora') ?? ALGO_ALIASES[algo]
      if (!found) {
        r.skip('network_args algo', algo, `no tunebook method runs LyCORIS' ${algo}; known: ${Object.values(ALGOS).join(', ')}`)
        return
      }
      name = dora && found === 'lora' ? 'dora' : found === 'lora' && given.has('conv_dim') ? 'locon' : found
      const preset = take('preset')
      if (preset !== presetOf(name))
        r.skip('network_args preset', preset ?? "(LyCORIS' default, full)", `tunebook's ${name} wraps ${presetOf(name) ? 'attention and feed-forward layers only' : 'every linear and convolution layer'}`)
    } else {
      r.skip('network_module', module, 'tunebook trains LyCORIS methods (lycoris.kohya) and LoRA (networks.lora, networks.dylora)')
      return
    }
    r.set('method.name', name, 'network_module')
    const dim = r.take('network_dim')
    if (dim !== undefined) r.set(OFT_METHODS.includes(name) ? 'method.block_size' : 'method.rank', dim, 'network_dim')
    else r.assume('method.rank', 4, 'network_dim')
    const alpha = r.take('network_alpha')
    if (alpha !== undefined) r.set('method.alpha', alpha, 'network_alpha')
    else r.assume('method.alpha', 1, 'network_alpha')
    const dropout = r.take('network_dropout')
    if (dropout && !READERS.dropout.includes(name)) r.skip('network_dropout', dropout, `method ${name} has no neuron dropout (${READERS.dropout.join(', ')} have)`)
    else if (dropout !== undefined) r.set('method.dropout', dropout, 'network_dropout')
    const rankDropout = given.get('rank_dropout')
    for (const a of NETWORK_ARGS) {
      const value = take(a.key)
      if (value === undefined) continue
      if (a.methods.includes(name)) r.set(`method.${a.field}`, parsePyValue(value), 'network_args')
      else r.skip(`network_args ${a.key}`, value, `method ${name} has no ${a.field}`)
    }
    // networks.lora scales what its rank dropout keeps; here that is rank_dropout_scale.
    if (module === 'networks.lora' && Number(parsePyValue(rankDropout ?? '0')) > 0) r.set('method.rank_dropout_scale', true, 'network_module')
    for (const [key, value] of given) r.skip(`network_args ${key}`, value, 'no tunebook equivalent')
  },
}

// ---- optimizer ----------------------------------------------------------

type Optimizer = TrainConfig['optimizer']
/** sd-scripts' optimizer_type per optimizer, the optimizer fields it passes as optimizer_args, and fixed arguments it needs. */
const OPTIMIZER_TYPES: Record<string, { type: string; fields: (keyof Optimizer)[]; fixed?: Record<string, boolean> }> = {
  adamw: { type: 'AdamW', fields: ['weight_decay'] },
  adamw8bit: { type: 'AdamW8bit', fields: ['weight_decay'] },
  lion: { type: 'Lion', fields: ['weight_decay'] },
  lion8bit: { type: 'Lion8bit', fields: ['weight_decay'] },
  sgd_nesterov: { type: 'SGDNesterov', fields: ['weight_decay', 'momentum'] },
  prodigy: { type: 'Prodigy', fields: ['weight_decay', 'd_coef', 'use_bias_correction', 'safeguard_warmup'] },
  adafactor: { type: 'Adafactor', fields: ['weight_decay', 'relative_step', 'scale_parameter', 'warmup_init'] },
  dadapt_adam: { type: 'DAdaptAdam', fields: ['weight_decay'], fixed: { decouple: true } },
  came: { type: 'pytorch_optimizer.CAME', fields: ['weight_decay'] },
  schedulefree_adamw: { type: 'AdamWScheduleFree', fields: ['weight_decay', 'warmup_steps'] },
}
// Other names sd-scripts accepts for the same optimizer (it compares them lower-cased).
const OPTIMIZER_ALIASES: Record<string, string> = { came: 'came', 'schedulefree.adamwschedulefree': 'schedulefree_adamw', adamwschedulefree: 'schedulefree_adamw' }

const optimizerRow: Row = {
  args: ['optimizer_type', 'optimizer_args', 'use_8bit_adam', 'use_lion_optimizer'],
  write({ optimizer }) {
    const kind = OPTIMIZER_TYPES[optimizer.name]
    const values = { ...Object.fromEntries(kind.fields.map((f) => [f, optimizer[f]])), ...kind.fixed, ...(optimizer.args as Record<string, unknown>) }
    return [arg('optimizer_type', kind.type), arg('optimizer_args', Object.entries(values).map(([k, v]) => `${k}=${formatPyValue(v)}`))]
  },
  read(r) {
    const type = r.take('optimizer_type') as string | undefined
    const eightBit = r.take('use_8bit_adam') === true
    const lion = r.take('use_lion_optimizer') === true
    const wanted = (type || (eightBit ? 'AdamW8bit' : lion ? 'Lion' : 'AdamW')).toLowerCase()
    const name = OPTIMIZER_ALIASES[wanted] ?? Object.keys(OPTIMIZER_TYPES).find((n) => OPTIMIZER_TYPES[n].type.toLowerCase() === wanted)
    const rawArgs = r.take('optimizer_args') as string[] | string | undefined
    if (!name) {
      r.skip('optimizer_type', type, `tunebook has no such optimizer; known: ${Object.values(OPTIMIZER_TYPES).map((k) => k.type).join(', ')}`)
      if (rawArgs !== undefined) r.skip('optimizer_args', rawArgs, `they belong to ${type}`)
      return
    }
    if (type !== undefined || eightBit || lion) r.set('optimizer.name', name, type !== undefined ? 'optimizer_type' : eightBit ? 'use_8bit_adam' : 'use_lion_optimizer')
    const kind = OPTIMIZER_TYPES[name]
    const extra: Record<string, unknown> = {}
    for (const { key, value } of splitKeyValues(rawArgs ?? [])) {
      const parsed = parsePyValue(value)
      if ((kind.fields as string[]).includes(key)) r.set(`optimizer.${key}`, parsed, 'optimizer_args')
      else if (kind.fixed && key in kind.fixed) {
        if (kind.fixed[key] !== parsed) r.skip(`optimizer_args ${key}`, value, `tunebook always runs ${kind.type} with ${key}=${formatPyValue(kind.fixed[key])}`)
      } else extra[key] = parsed
    }
    if (Object.keys(extra).length) r.set('optimizer.args', extra, 'optimizer_args')
  },
}

// ---- scheduler ----------------------------------------------------------

type Scheduler = TrainConfig['scheduler']
/** A warmup given as a ratio of the run, read as sd-scripts and the trainer read it: int(ratio × total). */
const warmupSteps = (warmup: number, total: number) => (warmup > 0 && warmup < 1 ? Math.floor(warmup * total) : warmup)
const REX = 'pytorch_optimizer.lr_scheduler.rex.REXScheduler'
const COSINE_DECAY = 'pytorch_optimizer.lr_scheduler.cosine_anealing.CosineAnnealingWarmupRestarts'
// Schedules with no warmup phase: sd-scripts ignores lr_warmup_steps there, tunebook rejects it.
const NO_WARMUP: SchedulerName[] = ['constant', 'piecewise_constant', 'rex']

/**
 * Each scheduler as sd-scripts names it (lr_scheduler, or lr_scheduler_type for the two it lacks,
 * which name the class the trainer takes from pytorch-optimizer), the scheduler fields that are
 * their own arguments, and the fields passed as lr_scheduler_args.
 */
interface SchedulerKind {
  lr_scheduler?: string
  type?: string
  own?: Partial<Record<keyof Scheduler, string>>
  /** Fields sd-scripts' version of the schedule always has. */
  fixed?: Partial<Scheduler>
  args?: (s: Scheduler, lr: number, total: number) => Record<string, number | string>
  /** lr_scheduler_args (as written, key to text) back into scheduler fields. */
  fromArgs?: (a: Record<string, string>) => Partial<Scheduler>
}
const SCHEDULER_KINDS: Record<SchedulerName, SchedulerKind> = {
  constant: { lr_scheduler: 'constant' },
  constant_with_warmup: { lr_scheduler: 'constant_with_warmup' },
  linear: { lr_scheduler: 'linear' },
  cosine: { lr_scheduler: 'cosine' },
  cosine_with_restarts: { lr_scheduler: 'cosine_with_restarts', own: { num_cycles: 'lr_scheduler_num_cycles' } },
  polynomial: {
    lr_scheduler: 'polynomial',
    own: { power: 'lr_scheduler_power' },
    args: (s) => ({ lr_end: s.lr_end }),
    fromArgs: (a) => ({ lr_end: Number(a.lr_end) }),
  },
  piecewise_constant: { lr_scheduler: 'piecewise_constant', args: (s) => ({ step_rules: s.rules }), fromArgs: (a) => ({ rules: a.step_rules }) },
  cosine_with_min_lr: { lr_scheduler: 'cosine_with_min_lr', own: { min_lr_ratio: 'lr_scheduler_min_lr_ratio' } },
  warmup_stable_decay: { lr_scheduler: 'warmup_stable_decay', fixed: { decay_type: 'linear' }, own: { decay_steps: 'lr_decay_steps', min_lr_ratio: 'lr_scheduler_min_lr_ratio' } },
  inverse_sqrt: { lr_scheduler: 'inverse_sqrt', own: { timescale: 'lr_scheduler_timescale' } },
  rex: {
    type: REX,
    args: (s, lr, total) => ({ total_steps: total, max_lr: lr, min_lr: lr * s.min_lr_ratio }),
    fromArgs: (a) => ({ min_lr_ratio: ratio(a.min_lr, a.max_lr) }),
  },
  cosine_with_restarts_decay: {
    type: COSINE_DECAY,
    args: (s, lr, total) => {
      const cycle = Math.ceil(total / s.num_cycles)
      return { first_cycle_steps: cycle, max_lr: lr, min_lr: lr * s.min_lr_ratio, warmup_steps: warmupSteps(s.warmup_steps, cycle), gamma: s.gamma }
    },
    fromArgs: (a) => ({ min_lr_ratio: ratio(a.min_lr, a.max_lr), warmup_steps: Number(a.warmup_steps), gamma: Number(a.gamma) }),
  },
}
/** min_lr / max_lr without the float noise of the division (0.0001 / 0.001 is 0.09999999999999999). */
const ratio = (min: string, max: string) => Number((Number(min) / Number(max)).toPrecision(12))
// The arguments whose meaning (steps of the run, the peak LR) is the run's own, not a scheduler field.
const RUN_DERIVED = ['total_steps', 'max_lr', 'first_cycle_steps']
// A scheduler to call `args` with when only the argument names are wanted.
const SCHEDULER_DEFAULTS = (resolveConfig({}) as { config: TrainConfig }).config.scheduler
// sd-scripts' argparse defaults for the scheduler arguments: files written by kohya_ss carry them for every scheduler.
const SCHEDULER_ARG_DEFAULTS: Record<string, unknown> = { lr_scheduler_num_cycles: 1, lr_scheduler_power: 1 }

const schedulerRow: Row = {
  args: ['lr_scheduler', 'lr_scheduler_type', 'lr_scheduler_args', 'lr_warmup_steps', 'lr_scheduler_num_cycles', 'lr_scheduler_power', 'lr_scheduler_min_lr_ratio', 'lr_decay_steps', 'lr_scheduler_timescale'],
  write({ scheduler, optimizer, training }) {
    const kind = SCHEDULER_KINDS[scheduler.name]
    const lines: SdScriptsLine[] = [kind.lr_scheduler ? arg('lr_scheduler', kind.lr_scheduler) : arg('lr_scheduler_type', kind.type!)]
    for (const [fieldName, name] of Object.entries(kind.own ?? {})) {
      const value = scheduler[fieldName as keyof Scheduler]
      if (value !== null) lines.push(arg(name, value as number))
    }
    if (kind.args) lines.push(arg('lr_scheduler_args', Object.entries(kind.args(scheduler, optimizer.lr, training.max_steps)).map(([k, v]) => `${k}=${v}`)))
    if (scheduler.name === 'warmup_stable_decay' && scheduler.decay_type !== 'linear')
      lines.push(note(`scheduler.decay_type: ${scheduler.decay_type}; sd-scripts' warmup_stable_decay decays linearly only`))
    // cosine_with_restarts_decay warms up inside each cycle, through its own arguments.
    if (scheduler.warmup_steps && !kind.type) lines.push(arg('lr_warmup_steps', scheduler.warmup_steps))
    return lines
  },
  read(r) {
    const type = r.take('lr_scheduler_type') as string | undefined
    const named = r.take('lr_scheduler') as string | undefined
    const byType = type && (Object.keys(SCHEDULER_KINDS) as SchedulerName[]).find((n) => SCHEDULER_KINDS[n].type === type)
    if (type && !byType) r.skip('lr_scheduler_type', type, 'tunebook runs only the schedulers it names; this class is not one of them')
    const byName = named === undefined ? 'constant' : (Object.keys(SCHEDULER_KINDS) as SchedulerName[]).find((n) => SCHEDULER_KINDS[n].lr_scheduler === named)
    if (named !== undefined && !byName) r.skip('lr_scheduler', named, `no tunebook scheduler; known: ${Object.keys(SCHEDULER_KINDS).join(', ')}`)
    const name = byType || byName || 'constant'
    if (name !== 'constant') r.set('scheduler.name', name, byType ? 'lr_scheduler_type' : 'lr_scheduler')
    const kind = SCHEDULER_KINDS[name]
    for (const [fieldName, value] of Object.entries(kind.fixed ?? {})) r.set(`scheduler.${fieldName}`, value, 'lr_scheduler')
    const owned = new Set(Object.values(kind.own ?? {}))
    for (const [fieldName, argName] of Object.entries(kind.own ?? {})) {
      const value = r.take(argName)
      if (value !== undefined) r.set(`scheduler.${fieldName}`, value, argName)
    }
    // sd-scripts' argparse gives these defaults; they mean nothing to a scheduler that does not read them.
    for (const other of schedulerRow.args.slice(4)) {
      const value = r.take(other)
      if (value !== undefined && !owned.has(other)) r.skip(other, value, `scheduler ${name} does not read it`, value === SCHEDULER_ARG_DEFAULTS[other])
    }
    const rawArgs = r.take('lr_scheduler_args') as string[] | string | undefined
    if (rawArgs !== undefined) {
      const values = Object.fromEntries(splitKeyValues(rawArgs).map(({ key, value }) => [key, value]))
      const known = new Set([...RUN_DERIVED, ...Object.keys(kind.args?.(SCHEDULER_DEFAULTS, 1, 1) ?? {})])
      const fields = kind.fromArgs?.(values) ?? {}
      for (const [key, value] of Object.entries(fields)) if (value !== undefined && !Number.isNaN(value)) r.set(`scheduler.${key}`, value, 'lr_scheduler_args')
      for (const [key, value] of Object.entries(values)) if (!known.has(key)) r.skip(`lr_scheduler_args ${key}`, value, `scheduler ${name} takes no such argument`)
      if (name === 'cosine_with_restarts_decay') readCycles(r, values)
    }
    const warmup = r.take('lr_warmup_steps')
    if (warmup === undefined || warmup === 0) return
    if (NO_WARMUP.includes(name)) r.skip('lr_warmup_steps', warmup, `sd-scripts' ${name} schedule has no warmup phase and ignores it`)
    else if (kind.type) r.skip('lr_warmup_steps', warmup, `${name} warms up inside each cycle (lr_scheduler_args warmup_steps)`)
    else r.set('scheduler.warmup_steps', warmup, 'lr_warmup_steps')
  },
}

/** cosine_with_restarts_decay's cycle length back into a cycle count: the export writes ceil(total / num_cycles). */
function readCycles(r: ArgReader, values: Record<string, string>) {
  const cycle = Number(values.first_cycle_steps)
  const total = Number(r.peek('max_train_steps'))
  if (!cycle) return
  if (total && !r.peek('max_train_epochs')) r.set('scheduler.num_cycles', Math.max(1, Math.round(total / cycle)), 'lr_scheduler_args')
  else r.skip('lr_scheduler_args first_cycle_steps', cycle, 'tunebook counts cycles (scheduler.num_cycles) of a run whose length in steps this file does not give')
}

// ---- training -----------------------------------------------------------

type CacheMode = 'off' | 'memory' | 'disk'
/** An off/memory/disk cache as sd-scripts' two flags, `name` and `name`_to_disk. */
/**
 * A cache's mode as sd-scripts' two flags. `assumeOff`: a file without them gets sd-scripts' default, off;
 * otherwise tunebook's own default stays (the text-encoder cache's auto trains the same numbers as off, faster).
 */
function cacheRow(path: string, name: string, assumeOff = true): Row {
  const disk = `${name}_to_disk`
  return {
    args: [name, disk],
    write(config) {
      const mode = valueAt(config, path) as CacheMode | undefined
      return mode === 'memory' ? [arg(name, true)] : mode === 'disk' ? [arg(name, true), arg(disk, true)] : []
    },
    read(r) {
      const on = r.take(name)
      const toDisk = r.take(disk)
      if (on === undefined && toDisk === undefined) return assumeOff ? r.assume(path, 'off', name) : undefined
      // sd-scripts turns the cache on when either flag is set.
      r.set(path, toDisk === true ? 'disk' : on === true ? 'memory' : 'off', toDisk === true ? disk : name)
    },
  }
}

const predictionRow: Row = {
  args: ['v_parameterization'],
  write({ training }) {
    if (training.prediction_type === 'v_prediction') return [arg('v_parameterization', true)]
    if (training.prediction_type === 'auto') return [note("training.prediction_type: auto (the model's own); sd-scripts assumes epsilon unless --v_parameterization")]
    return []
  },
  read(r) {
    // Left out, it stays auto: the model's own scheduler config, epsilon for SD1.5 and SDXL as in sd-scripts.
    const v = r.take('v_parameterization')
    if (v !== undefined) r.set('training.prediction_type', v === true ? 'v_prediction' : 'epsilon', 'v_parameterization')
  },
}

// sd-scripts saves the adapter every save_every_n_steps, and with save_state a resumable state at the same
// steps: tunebook's save_every and save_state_every, which sd-scripts can only write as one count.
const savingRow: Row = {
  args: ['save_every_n_steps', 'save_state'],
  write({ training: { save_every, save_state_every } }) {
    if (save_state_every === 0) return save_every > 0 ? [arg('save_every_n_steps', save_every)] : []
    const lines = [arg('save_every_n_steps', save_every || save_state_every), arg('save_state', true)]
    if (save_every === 0 || save_every === save_state_every) return lines
    return [...lines, note(`training.save_state_every: ${save_state_every}; sd-scripts saves states with the adapter, here every ${save_every} steps`)]
  },
  read(r) {
    const every = r.take('save_every_n_steps')
    const state = r.take('save_state')
    if (!every) return every === undefined ? undefined : r.skip('save_every_n_steps', every, 'off', true)
    r.set('training.save_every', every, 'save_every_n_steps')
    if (state === true) r.set('training.save_state_every', every, 'save_every_n_steps')
  },
}

// ---- data and sampling --------------------------------------------------

const dataRow: Row = {
  args: ['train_data_dir', 'caption_extension', 'resolution'],
  write({ data }, options) {
    const lines: SdScriptsLine[] = []
    if (data.source === 'folder') lines.push(arg('train_data_dir', options.trainDataDir ?? data.path))
    else
      lines.push(
        arg('train_data_dir', options.trainDataDir ?? 'train_images'),
        note(`data.source: shapes (concept ${data.concept}, ${data.images} images, seed ${data.seed}, draw ${data.draw}) is drawn by tunebook; sd-scripts needs the images on disk in <repeats>_<name> folders`),
      )
    return [...lines, arg('caption_extension', '.txt'), arg('resolution', `${data.resolution},${data.resolution}`)]
  },
  read(r) {
    const dir = r.take('train_data_dir')
    if (dir) {
      r.set('data.source', 'folder', 'train_data_dir')
      r.set('data.path', dir, 'train_data_dir')
    }
    const extension = r.take('caption_extension')
    if (extension !== undefined && extension !== '.txt' && extension !== '.caption')
      r.skip('caption_extension', extension, 'tunebook reads captions from .txt or .caption files beside each image')
    const resolution = r.take('resolution')
    if (resolution === undefined) return
    const side = squareSide(resolution)
    if (typeof side === 'object') r.skip('resolution', resolution, 'tunebook trains at a square data.resolution (with data.buckets, the square whose area every bucket keeps)')
    else r.set('data.resolution', side, 'resolution')
  },
}

/**
 * The folder of regularization images sd-scripts reads: data.reg_path, else the base shapes tunebook
 * draws for data.reg_images (sd-scripts needs those on disk, like drawn training images); '' for none.
 */
export const regDataDir = ({ data }: TrainConfig) => data.reg_path || (drawsRegImages(data) ? 'reg_images' : '')

const regRow: Row = {
  args: ['reg_data_dir'],
  write(config) {
    const dir = regDataDir(config)
    if (!dir) return []
    if (!drawsRegImages(config.data)) return [arg('reg_data_dir', dir)]
    return [arg('reg_data_dir', dir), note(`data.reg_images: ${config.data.reg_images} regularization images of the base shapes are drawn by tunebook; sd-scripts needs them on disk in <repeats>_<name> folders`)]
  },
  read(r) {
    const dir = r.take('reg_data_dir')
    if (dir) r.set('data.reg_path', dir, 'reg_data_dir')
    else if (dir !== undefined) r.skip('reg_data_dir', dir, 'no regularization images', true)
  },
}

const SAMPLERS: Record<TrainConfig['sample']['sampler'], string> = { euler: 'euler', dpmpp_2m: 'dpmsolver++' }

const sampleRow: Row = {
  args: ['sample_every_n_steps', 'sample_prompts', 'sample_sampler'],
  write({ sample }) {
    if (sample.every === 0) return []
    return [
      arg('sample_every_n_steps', sample.every),
      arg('sample_prompts', 'prompts.txt'),
      arg('sample_sampler', SAMPLERS[sample.sampler]),
      note(`sample.prompts, steps ${sample.steps} and cfg_scale ${sample.cfg_scale}: write them to prompts.txt, one prompt a line ending in --s ${sample.steps} --l ${sample.cfg_scale}`),
    ]
  },
  read(r) {
    const every = r.take('sample_every_n_steps')
    if (every) r.set('sample.every', every, 'sample_every_n_steps')
    const prompts = r.take('sample_prompts')
    if (prompts) r.skip('sample_prompts', prompts, 'write the prompts as sample.prompts in the cell; tunebook does not read prompt files')
    const sampler = r.take('sample_sampler')
    if (sampler === undefined) return
    const name = (Object.keys(SAMPLERS) as (keyof typeof SAMPLERS)[]).find((n) => SAMPLERS[n] === sampler || n === sampler)
    if (name) r.set('sample.sampler', name, 'sample_sampler')
    else r.skip('sample_sampler', sampler, `tunebook samples with ${Object.values(SAMPLERS).join(' or ')}`)
  },
}

const evalRow: Row = {
  args: [],
  write: (config) => (config.eval.every > 0 ? [note("eval: the shapes evaluator (fidelity and retention) is tunebook's own; sd-scripts has no equivalent")] : []),
  read: () => {},
}

const modelRow: Row = {
  args: ['pretrained_model_name_or_path'],
  // The config names a model, not its family; the family picks sd-scripts' script, so say which is which.
  write: (config, options) => [
    arg('pretrained_model_name_or_path', options.modelPath ?? modelPath(config.model)),
    note("model: the script named here is SDXL's; for an SD1.x or SD2.x model run train_network.py instead (SD2.x: add --v2)"),
  ],
  read(r) {
    const path = r.take('pretrained_model_name_or_path')
    if (path) r.set('model', String(path).replace(/^models\/(?=[^/]+$)/, ''), 'pretrained_model_name_or_path')
  },
}
/** The shipped models are folders under models/; anything else is already a path. */
const modelPath = (model: string) => (model.includes('/') ? model : `models/${model}`)

const lengthRow: Row = {
  args: ['max_train_epochs', 'max_train_steps'],
  write: ({ training }) => [training.epochs !== null ? arg('max_train_epochs', training.epochs) : arg('max_train_steps', training.max_steps)],
  read(r) {
    const epochs = r.take('max_train_epochs')
    const steps = r.take('max_train_steps')
    if (epochs !== undefined) r.set('training.epochs', epochs, 'max_train_epochs')
    // With epochs, sd-scripts ignores the step count, and so does tunebook: keep it only when it counts.
    if (steps !== undefined && epochs === undefined) r.set('training.max_steps', steps, 'max_train_steps')
    else if (steps !== undefined) r.skip('max_train_steps', steps, 'max_train_epochs decides the length, in sd-scripts as in tunebook')
    else if (epochs === undefined) r.assume('training.max_steps', 1600, 'max_train_steps')
  },
}

// sd-scripts clips gradients at 1 unless told 0; tunebook's null (no clipping) is sd-scripts' 0.
const gradientClipRow: Row = {
  args: ['max_grad_norm'],
  write: ({ training }) => (training.max_grad_norm === 1 ? [] : [arg('max_grad_norm', training.max_grad_norm ?? 0)]),
  read(r) {
    const norm = r.take('max_grad_norm')
    if (norm === undefined) r.assume('training.max_grad_norm', 1, 'max_grad_norm')
    else r.set('training.max_grad_norm', norm === 0 ? null : norm, 'max_grad_norm')
  },
}

/** `row`, except that where its argument is given and `why` has a reason, the argument is listed as not imported. */
function unless(row: Row, arg: string, why: (r: ArgReader) => { reason: string; inert?: boolean } | undefined): Row {
  return {
    ...row,
    read(r) {
      const skip = r.peek(arg) === undefined ? undefined : why(r)
      if (skip) r.skip(arg, r.take(arg), skip.reason, skip.inert)
      else row.read(r)
    },
  }
}

// A discount without multi-resolution noise discounts nothing (kohya_ss presets write 0 for both).
const multiresDiscountRow = unless(
  field('training.multires_noise_discount', 'multires_noise_discount', { sd: 0.3, when: (c) => c.training.multires_noise_iterations > 0 }),
  'multires_noise_discount',
  (r) => (r.peek('multires_noise_iterations') ? undefined : { reason: 'without multires_noise_iterations there is nothing to discount', inert: true }),
)

// sd-scripts warns and ignores clip skip for SDXL, where tunebook refuses it; a kohya_ss preset says which it is.
const clipSkipRow = unless(field('training.clip_skip', 'clip_skip', { sd: 1 }), 'clip_skip', (r) =>
  r.peek('clip_skip') !== 1 && r.peek('sdxl') === true ? { reason: 'sd-scripts ignores clip skip for SDXL, and tunebook takes only 1 there' } : undefined,
)

const huber = (c: TrainConfig) => c.training.loss_type === 'huber' || c.training.loss_type === 'smooth_l1'
const buckets = (c: TrainConfig) => (c.data as { buckets?: boolean }).buckets === true

/** Every row, in the order a reader expects the arguments: model, data, network, optimizer, schedule, training, watching. */
export const ROWS: readonly Row[] = [
  modelRow,
  dataRow,
  regRow,
  // Without regularization images there is no prior loss to weigh.
  field('data.prior_loss_weight', 'prior_loss_weight', { sd: 1, when: (c) => regDataDir(c) !== '' }),
  field('data.buckets', 'enable_bucket', { flag: true, sd: false }),
  field('data.bucket_min_side', 'min_bucket_reso', { sd: 256, when: buckets }),
  field('data.bucket_max_side', 'max_bucket_reso', { sd: 1024, when: buckets }),
  field('data.bucket_step', 'bucket_reso_steps', { sd: 64, when: buckets }),
  field('data.shuffle_caption', 'shuffle_caption', { flag: true, sd: false }),
  field('data.keep_tokens', 'keep_tokens', { sd: 0 }),
  field('data.caption_dropout', 'caption_dropout_rate', { sd: 0 }),
  field('data.caption_tag_dropout', 'caption_tag_dropout_rate', { sd: 0 }),
  field('data.flip_aug', 'flip_aug', { flag: true, sd: false }),
  methodRow,
  field('optimizer.lr', 'learning_rate', { sd: 2e-6 }),
  // A run id names that run's adapter, which sd-scripts needs as a path.
  field('method.start_from', 'network_weights', { toArg: (v: string) => (v.endsWith('.safetensors') ? v : `runs/${v}/adapter.safetensors`) }),
  field('method.unet_lr', 'unet_lr'),
  field('method.text_encoder_lr', 'text_encoder_lr', {
    when: (c) => c.method.train_text_encoder,
    // Newer sd-scripts takes one LR per text encoder; tunebook has one for both.
    fromArg: (v) => (Array.isArray(v) && v.every((x) => x === v[0]) ? v[0] : v),
  }),
  // sd-scripts trains the text encoders too unless told --network_train_unet_only.
  field('method.train_text_encoder', 'network_train_unet_only', { flag: true, sd: true, toArg: (v) => !v, fromArg: (v) => !v }),
  optimizerRow,
  schedulerRow,
  lengthRow,
  field('training.batch_size', 'train_batch_size', { sd: 1 }),
  field('training.gradient_accumulation', 'gradient_accumulation_steps', { sd: 1 }),
  field('training.seed', 'seed'),
  field('training.mixed_precision', 'mixed_precision', { sd: 'no' }),
  field('training.full_bf16', 'full_bf16', { flag: true, sd: false }),
  field('training.gradient_checkpointing', 'gradient_checkpointing', { flag: true, sd: false }),
  field('training.torch_compile', 'torch_compile', { flag: true, sd: false }),
  field('training.dynamo_backend', 'dynamo_backend', { sd: 'inductor', when: (c) => c.training.torch_compile === true }),
  field('training.noise_offset', 'noise_offset', { sd: 0 }),
  multiresDiscountRow, // before the iterations' row, which takes the argument it peeks at
  field('training.multires_noise_iterations', 'multires_noise_iterations', { sd: 0 }),
  // sd-scripts reads 0 as off, as tunebook reads null.
  field('training.ip_noise_gamma', 'ip_noise_gamma', { fromArg: (v) => (v === 0 ? null : v) }),
  // sd-scripts reads 0 as off, as tunebook reads null.
  field('training.min_snr_gamma', 'min_snr_gamma', { fromArg: (v) => (v === 0 ? null : v) }),
  field('training.loss_type', 'loss_type', { sd: 'l2' }),
  field('training.huber_c', 'huber_c', { sd: 0.1, when: huber }),
  field('training.huber_schedule', 'huber_schedule', { sd: 'snr', when: huber }),
  field('training.huber_scale', 'huber_scale', { sd: 1, when: huber }),
  field('training.debiased_estimation', 'debiased_estimation_loss', { flag: true, sd: false }),
  field('training.min_timestep', 'min_timestep', { sd: 0 }),
  field('training.max_timestep', 'max_timestep', { sd: 1000 }),
  gradientClipRow,
  field('training.scale_weight_norms', 'scale_weight_norms', { fromArg: (v) => (v === 0 ? null : v) }),
  clipSkipRow,
  field('training.max_token_length', 'max_token_length', { sd: 75 }),
  predictionRow,
  cacheRow('training.cache_latents', 'cache_latents'),
  cacheRow('training.cache_text_encoder_outputs', 'cache_text_encoder_outputs', false),
  // Always written (sd-scripts would start 8 loader processes without it); a file that leaves it out
  // gets tunebook's own 0, since a process count suits a machine, not a training recipe.
  field('training.dataloader_workers', 'max_data_loader_n_workers'),
  savingRow,
  field('training.save_precision', 'save_precision', { sd: 'float' }),
  field('training.resume', 'resume'),
  sampleRow,
  evalRow,
]

/** Arguments tunebook knows and deliberately does not take, with the reason the import gives. */
export const NOT_TAKEN: Record<string, string> = {
  xformers: 'tunebook always uses PyTorch SDPA attention',
  sdpa: 'tunebook always uses PyTorch SDPA attention',
  mem_eff_attn: 'tunebook always uses PyTorch SDPA attention',
  v2: "the base model's architecture is detected from its files",
  sdxl: "the base model's architecture is detected from its files",
  output_dir: 'tunebook writes each run to runs/<id>/',
  output_name: 'tunebook writes each run to runs/<id>/',
  logging_dir: 'tunebook writes each run to runs/<id>/',
  save_model_as: 'tunebook always saves safetensors in the kohya format',
  save_every_n_epochs: 'tunebook counts saves in steps: set training.save_every to the steps of that many epochs',
  sdxl_no_half_vae: 'tunebook runs the VAE in float32',
  no_half_vae: 'tunebook runs the VAE in float32',
  persistent_data_loader_workers: 'tunebook keeps its loader workers for the whole run',
  dataset_config: 'import the dataset TOML together with this file',
  class_tokens: 'tunebook needs a caption file beside each image',
  bucket_no_upscale: 'tunebook scales every image to fill its bucket',
  num_cpu_threads_per_process: 'a launcher setting for the machine the file came from; training.cpu_threads sets it here',
  dim_from_weights: "tunebook takes the rank from method.rank and checks it against method.start_from's file before training",
}

/**
 * Values of arguments tunebook does not take at which sd-scripts (or kohya_ss) trains as tunebook always
 * does: files spell out defaults, and the import lists these with what is off or empty, not as differences.
 */
export const AS_TUNEBOOK: Record<string, unknown> = {
  // kohya_ss' name for the noise offset tunebook adds (training.noise_offset, one per channel); Multires is another kind.
  noise_offset_type: 'Original',
  save_model_as: 'safetensors',
  sdpa: true,
  // tunebook's VAE is float32 whatever the precision.
  no_half_vae: true,
  sdxl_no_half_vae: true,
  // tunebook's loader runs for the whole run, its workers with it.
  persistent_data_loader_workers: true,
}

/** Every sd-scripts argument some row writes or reads. */
export const TABLE_ARGS: readonly string[] = ROWS.flatMap((row) => row.args)
