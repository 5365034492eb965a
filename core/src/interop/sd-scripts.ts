// A resolved train config as kohya sd-scripts takes it: a command line for
// sdxl_train_network.py, or its --config_file TOML plus a dataset TOML. Every
// field with an sd-scripts equivalent is mapped; every field without one
// becomes a comment saying so, never a silent drop. Argument names are checked
// against sd-scripts' own parser (test/fixtures/sd-scripts-args.json).
import type { MethodName, OptimizerName, SchedulerName, TrainConfig } from '../config/schema.ts'

export interface SdScriptsOptions {
  /** sd-scripts' --pretrained_model_name_or_path; default: the config's model (a folder under models/ for shipped ones). */
  modelPath?: string
  /** Where sd-scripts writes the adapter. */
  outputDir?: string
  outputName?: string
  /** The images in kohya's <repeats>_<name> layout; default: data.path for a folder source. */
  trainDataDir?: string
}

type Value = string | number | boolean | readonly string[]
/** One argument (true: a bare flag), or a note about a field sd-scripts cannot take. */
export type SdScriptsLine = { arg: string; value: Value } | { note: string }

const arg = (name: string, value: Value): SdScriptsLine => ({ arg: name, value })
const note = (text: string): SdScriptsLine => ({ note: text })

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
const CONV_METHODS: MethodName[] = ['locon', 'loha', 'lokr']
const OFT_METHODS: MethodName[] = ['oft', 'boft']
const DEFAULT_BLOCK_SIZE: Partial<Record<MethodName, number>> = { dylora: 4, oft: 4, boft: 16 }

// sd-scripts' optimizer_type per optimizer, and the optimizer section's fields it passes as optimizer_args.
type Optimizer = TrainConfig['optimizer']
const OPTIMIZER_TYPES: Record<OptimizerName, { type: string; args: (o: Optimizer) => Record<string, Value> }> = {
  adamw: { type: 'AdamW', args: (o) => ({ weight_decay: o.weight_decay }) },
  adamw8bit: { type: 'AdamW8bit', args: (o) => ({ weight_decay: o.weight_decay }) },
  lion: { type: 'Lion', args: (o) => ({ weight_decay: o.weight_decay }) },
  sgd_nesterov: { type: 'SGDNesterov', args: (o) => ({ weight_decay: o.weight_decay, momentum: o.momentum }) },
  prodigy: {
    type: 'Prodigy',
    args: (o) => ({ weight_decay: o.weight_decay, d_coef: o.d_coef, use_bias_correction: o.use_bias_correction, safeguard_warmup: o.safeguard_warmup }),
  },
  adafactor: {
    type: 'Adafactor',
    args: (o) => ({ weight_decay: o.weight_decay, relative_step: o.relative_step, scale_parameter: o.scale_parameter, warmup_init: o.warmup_init }),
  },
  dadapt_adam: { type: 'DAdaptAdam', args: (o) => ({ weight_decay: o.weight_decay, decouple: true }) },
  came: { type: 'pytorch_optimizer.CAME', args: (o) => ({ weight_decay: o.weight_decay }) },
  schedulefree_adamw: { type: 'AdamWScheduleFree', args: (o) => ({ weight_decay: o.weight_decay, warmup_steps: o.warmup_steps }) },
}

// sd-scripts' lr_scheduler per scheduler and the scheduler section's fields in its arguments;
// for the two it lacks, lr_scheduler_type names the class (the trainer's own, from pytorch-optimizer).
type Scheduler = TrainConfig['scheduler']
const SCHEDULERS: Record<SchedulerName, (s: Scheduler, lr: number, total: number) => SdScriptsLine[]> = {
  constant: () => [arg('lr_scheduler', 'constant')],
  constant_with_warmup: () => [arg('lr_scheduler', 'constant_with_warmup')],
  linear: () => [arg('lr_scheduler', 'linear')],
  cosine: () => [arg('lr_scheduler', 'cosine')],
  cosine_with_restarts: (s) => [arg('lr_scheduler', 'cosine_with_restarts'), arg('lr_scheduler_num_cycles', s.num_cycles)],
  polynomial: (s) => [arg('lr_scheduler', 'polynomial'), arg('lr_scheduler_power', s.power), arg('lr_scheduler_args', [`lr_end=${s.lr_end}`])],
  piecewise_constant: (s) => [arg('lr_scheduler', 'piecewise_constant'), arg('lr_scheduler_args', [`step_rules=${s.rules}`])],
  cosine_with_min_lr: (s) => [arg('lr_scheduler', 'cosine_with_min_lr'), arg('lr_scheduler_min_lr_ratio', s.min_lr_ratio)],
  warmup_stable_decay: (s) => [
    arg('lr_scheduler', 'warmup_stable_decay'),
    arg('lr_decay_steps', s.decay_steps),
    arg('lr_scheduler_min_lr_ratio', s.min_lr_ratio),
    ...(s.decay_type === 'linear' ? [] : [note(`scheduler.decay_type: ${s.decay_type}; sd-scripts' warmup_stable_decay decays linearly only`)]),
  ],
  // An unset timescale means the warmup steps in both (transformers' default).
  inverse_sqrt: (s) => [arg('lr_scheduler', 'inverse_sqrt'), ...(s.timescale === null ? [] : [arg('lr_scheduler_timescale', s.timescale)])],
  rex: (s, lr, total) => [
    arg('lr_scheduler_type', 'pytorch_optimizer.lr_scheduler.rex.REXScheduler'),
    arg('lr_scheduler_args', [`total_steps=${total}`, `max_lr=${lr}`, `min_lr=${lr * s.min_lr_ratio}`]),
  ],
  cosine_with_restarts_decay: (s, lr, total) => [
    arg('lr_scheduler_type', 'pytorch_optimizer.lr_scheduler.cosine_anealing.CosineAnnealingWarmupRestarts'),
    arg('lr_scheduler_args', [
      `first_cycle_steps=${Math.ceil(total / s.num_cycles)}`,
      `max_lr=${lr}`,
      `min_lr=${lr * s.min_lr_ratio}`,
      `warmup_steps=${warmupSteps(s.warmup_steps, Math.ceil(total / s.num_cycles))}`,
      `gamma=${s.gamma}`,
    ]),
  ],
}

/** A warmup given as a ratio of the run, read as sd-scripts and the trainer read it: int(ratio × total). */
const warmupSteps = (warmup: number, total: number) => (warmup > 0 && warmup < 1 ? Math.floor(warmup * total) : warmup)

const SAMPLERS: Record<TrainConfig['sample']['sampler'], string> = { euler: 'euler', dpmpp_2m: 'dpmsolver++' }

/** Every argument and note for a config, in the order a reader expects: model, data, network, optimizer, schedule, training. */
export function sdScriptsLines(config: TrainConfig, options: SdScriptsOptions = {}): SdScriptsLine[] {
  const { method, optimizer, scheduler, training, data, sample } = config
  const lines: SdScriptsLine[] = [arg('pretrained_model_name_or_path', options.modelPath ?? modelPath(config.model))]

  // data
  if (data.source === 'folder') lines.push(arg('train_data_dir', options.trainDataDir ?? data.path), arg('caption_extension', '.txt'))
  else {
    lines.push(arg('train_data_dir', options.trainDataDir ?? 'train_images'))
    lines.push(note(`data.source: shapes (concept ${data.concept}, ${data.images} images, seed ${data.seed}) is drawn by tunebook; sd-scripts needs the images on disk in <repeats>_<name> folders`))
  }
  lines.push(arg('resolution', `${data.resolution},${data.resolution}`))

  // method
  const blockSize = method.block_size ?? DEFAULT_BLOCK_SIZE[method.name]
  const oft = OFT_METHODS.includes(method.name)
  if (method.name === 'lora') lines.push(arg('network_module', 'networks.lora'))
  else {
    lines.push(arg('network_module', 'lycoris.kohya'))
    const networkArgs = [
      `algo=${ALGOS[method.name]}`,
      ...(CONV_METHODS.includes(method.name) ? [`conv_dim=${method.conv_rank}`, `conv_alpha=${method.conv_alpha}`] : []),
      ...(method.name === 'lokr' ? [`factor=${method.factor}`, `decompose_both=${method.decompose_both}`] : []),
      ...(method.name === 'dylora' ? [`block_size=${blockSize}`] : []),
      ...(oft ? [`constraint=${method.constraint}`, `rescaled=${method.rescaled}`] : []),
      ...(method.name === 'dora' ? ['dora_wd=True'] : []),
      // tunebook wraps attention and feed-forward layers only, unless the method reaches the convolutions.
      ...(CONV_METHODS.includes(method.name) || method.name === 'full' ? [] : ['preset=attn-mlp']),
    ]
    lines.push(arg('network_args', networkArgs))
  }
  // LyCORIS reads OFT's block size from network_dim.
  lines.push(arg('network_dim', oft ? blockSize! : method.rank), arg('network_alpha', method.alpha))
  if (method.name === 'lora') lines.push(note("method lora: sd-scripts' networks.lora also wraps each transformer's proj_in/proj_out, which tunebook's LoRA leaves alone; its file is slightly larger"))
  lines.push(arg('learning_rate', optimizer.lr))
  if (method.unet_lr !== null) lines.push(arg('unet_lr', method.unet_lr))
  if (method.train_text_encoder) {
    if (method.text_encoder_lr !== null) lines.push(arg('text_encoder_lr', method.text_encoder_lr))
  } else lines.push(arg('network_train_unet_only', true))

  // optimizer
  const kind = OPTIMIZER_TYPES[optimizer.name]
  const optimizerArgs = { ...kind.args(optimizer), ...(optimizer.args as Record<string, unknown>) }
  lines.push(arg('optimizer_type', kind.type), arg('optimizer_args', Object.entries(optimizerArgs).map(([k, v]) => `${k}=${formatArg(v)}`)))

  // schedule
  const total = training.max_steps
  lines.push(...SCHEDULERS[scheduler.name](scheduler, optimizer.lr, total))
  if (scheduler.warmup_steps && scheduler.name !== 'cosine_with_restarts_decay') lines.push(arg('lr_warmup_steps', scheduler.warmup_steps))

  // training
  lines.push(training.epochs !== null ? arg('max_train_epochs', training.epochs) : arg('max_train_steps', training.max_steps))
  lines.push(arg('train_batch_size', training.batch_size))
  if (training.gradient_accumulation > 1) lines.push(arg('gradient_accumulation_steps', training.gradient_accumulation))
  lines.push(arg('seed', training.seed), arg('mixed_precision', training.mixed_precision))
  if (training.gradient_checkpointing) lines.push(arg('gradient_checkpointing', true))
  if (training.noise_offset > 0) lines.push(arg('noise_offset', training.noise_offset))
  if (training.min_snr_gamma !== null) lines.push(arg('min_snr_gamma', training.min_snr_gamma))
  if (training.prediction_type === 'v_prediction') lines.push(arg('v_parameterization', true))
  else if (training.prediction_type === 'auto') lines.push(note("training.prediction_type: auto (the model's own); sd-scripts assumes epsilon unless --v_parameterization"))
  if (training.cache_latents !== 'off') lines.push(arg('cache_latents', true))
  if (training.cache_latents === 'disk') lines.push(arg('cache_latents_to_disk', true))
  if (training.dataloader_workers > 0) lines.push(arg('max_data_loader_n_workers', training.dataloader_workers))
  if (training.save_state_every > 0) lines.push(arg('save_every_n_steps', training.save_state_every), arg('save_state', true))
  if (training.resume !== null) lines.push(arg('resume', training.resume))

  // watching
  if (sample.every > 0) {
    lines.push(arg('sample_every_n_steps', sample.every), arg('sample_prompts', 'prompts.txt'), arg('sample_sampler', SAMPLERS[sample.sampler]))
    lines.push(note(`sample.prompts, steps ${sample.steps} and cfg_scale ${sample.cfg_scale}: write them to prompts.txt, one prompt a line ending in --s ${sample.steps} --l ${sample.cfg_scale}`))
  }
  if (config.eval.every > 0) lines.push(note('eval: the shapes evaluator (fidelity and retention) is tunebook\'s own; sd-scripts has no equivalent'))

  lines.push(arg('save_model_as', 'safetensors'), arg('output_dir', options.outputDir ?? 'output'), arg('output_name', options.outputName ?? 'tunebook'))
  return lines
}

/** The shipped models are folders under models/; anything else is already a path. */
const modelPath = (model: string) => (model.includes('/') ? model : `models/${model}`)

const formatArg = (value: unknown) => (Array.isArray(value) ? value.join(',') : String(value))

/** A shell word: bare when safe, else single-quoted (a quote inside becomes '\''). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

const isNote = (line: SdScriptsLine): line is { note: string } => 'note' in line

/** `accelerate launch sdxl_train_network.py --flag value …`, with a comment above it for each field sd-scripts cannot take. */
export function toSdScriptsCommand(config: TrainConfig, options: SdScriptsOptions = {}): string {
  const lines = sdScriptsLines(config, options)
  const notes = lines.filter(isNote).map((l) => `# ${l.note}`)
  const args = lines
    .filter((l) => !isNote(l))
    .flatMap((l) => {
      const { arg: name, value } = l as { arg: string; value: Value }
      if (value === true) return [`--${name}`]
      const values = Array.isArray(value) ? value : [String(value)]
      return [`--${name} ${values.map(shellQuote).join(' ')}`]
    })
  return [...notes, ['accelerate launch --num_cpu_threads_per_process 1 sdxl_train_network.py', ...args].join(' \\\n  ')].join('\n') + '\n'
}

/** The --config_file TOML: the same arguments as the command line, notes as comments. */
export function toSdScriptsConfigToml(config: TrainConfig, options: SdScriptsOptions = {}): string {
  const body = sdScriptsLines(config, options).map((l) => (isNote(l) ? `# ${l.note}` : `${l.arg} = ${tomlValue(l.value)}`))
  return ['# sd-scripts: accelerate launch sdxl_train_network.py --config_file config.toml', ...body].join('\n') + '\n'
}

/** The --dataset_config TOML: one dataset at the config's resolution and batch size, one subset per <repeats>_<name> folder. */
export function toSdScriptsDatasetToml(config: TrainConfig, options: SdScriptsOptions = {}): string {
  const dir = options.trainDataDir ?? (config.data.source === 'folder' ? config.data.path : 'train_images')
  return [
    '# sd-scripts: --dataset_config dataset.toml (instead of --train_data_dir)',
    '[general]',
    'caption_extension = ".txt"',
    'enable_bucket = false',
    '',
    '[[datasets]]',
    `resolution = ${config.data.resolution}`,
    `batch_size = ${config.training.batch_size}`,
    '',
    '  # one subset per <repeats>_<name> folder: its images and how often each is seen per epoch',
    '  [[datasets.subsets]]',
    `  image_dir = ${tomlValue(`${dir}/1_${config.data.concept}`)}`,
    '  num_repeats = 1',
  ].join('\n') + '\n'
}

/** Both files, each under a comment naming it: what "copy as TOML" puts on the clipboard. */
export function toSdScriptsToml(config: TrainConfig, options: SdScriptsOptions = {}): string {
  return `# ---- config.toml ----\n${toSdScriptsConfigToml(config, options)}\n# ---- dataset.toml ----\n${toSdScriptsDatasetToml(config, options)}`
}

function tomlValue(value: Value): string {
  if (Array.isArray(value)) return `[${value.map((v) => tomlValue(v)).join(', ')}]`
  if (typeof value === 'string') return JSON.stringify(value)
  return String(value)
}
