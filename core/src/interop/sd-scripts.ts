// A resolved train config as kohya sd-scripts takes it: a command line for
// sdxl_train_network.py, or its --config_file TOML plus a dataset TOML. Every
// field with an sd-scripts equivalent is mapped; every field without one
// becomes a comment saying so, never a silent drop. Argument names are checked
// against sd-scripts' own parser (test/fixtures/sd-scripts-args.json).
import type { TrainConfig } from '../config/schema.ts'
import { regDataDir, ROWS, type SdScriptsLine, type SdScriptsOptions, type Value } from './sd-scripts-table.ts'

export type { SdScriptsLine, SdScriptsOptions } from './sd-scripts-table.ts'

/** Every argument and note for a config, row by row through the table, then where sd-scripts writes the adapter. */
export function sdScriptsLines(config: TrainConfig, options: SdScriptsOptions = {}): SdScriptsLine[] {
  return [
    ...ROWS.flatMap((row) => row.write(config, options)),
    { arg: 'save_model_as', value: 'safetensors' },
    { arg: 'output_dir', value: options.outputDir ?? 'output' },
    { arg: 'output_name', value: options.outputName ?? 'tunebook' },
  ]
}

/** A shell word: bare when safe, else single-quoted (a quote inside becomes '\''). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

const isNote = (line: SdScriptsLine): line is { note: string } => 'note' in line

/** `accelerate launch [its options] sdxl_train_network.py`. sd-scripts hands --dynamo_backend to accelerate, whose
 * compile reads its mode from accelerate launch's --dynamo_mode. */
function launch({ training }: TrainConfig): string {
  const mode = training.torch_compile && training.dynamo_mode && training.dynamo_mode !== 'default' ? ` --dynamo_mode ${training.dynamo_mode}` : ''
  return `accelerate launch --num_cpu_threads_per_process ${training.cpu_threads ?? 1}${mode} sdxl_train_network.py`
}

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
  return [...notes, [launch(config), ...args].join(' \\\n  ')].join('\n') + '\n'
}

/** The --config_file TOML: the same arguments as the command line, notes as comments. */
export function toSdScriptsConfigToml(config: TrainConfig, options: SdScriptsOptions = {}): string {
  const body = sdScriptsLines(config, options).map((l) => (isNote(l) ? `# ${l.note}` : `${l.arg} = ${tomlValue(l.value)}`))
  return [`# sd-scripts: ${launch(config)} --config_file config.toml`, ...body].join('\n') + '\n'
}

const GENERAL_KEYS = ['caption_extension', 'shuffle_caption', 'keep_tokens', 'caption_dropout_rate', 'caption_tag_dropout_rate', 'flip_aug', 'enable_bucket', 'min_bucket_reso', 'max_bucket_reso', 'bucket_reso_steps']

/**
 * The --dataset_config TOML: one dataset at the config's resolution and batch size, one subset per <repeats>_<name> folder,
 * and one with is_reg for the regularization images. prior_loss_weight stays on the command line: sd-scripts' dataset config rejects it.
 */
export function toSdScriptsDatasetToml(config: TrainConfig, options: SdScriptsOptions = {}): string {
  const dir = options.trainDataDir ?? (config.data.source === 'folder' ? config.data.path : 'train_images')
  const regDir = regDataDir(config)
  // A dataset config's own values win over the command line's in sd-scripts, so the caption and bucket settings go here too.
  const general = sdScriptsLines(config, options).filter((l): l is { arg: string; value: Value } => !isNote(l) && GENERAL_KEYS.includes(l.arg))
  return [
    `# sd-scripts: --dataset_config dataset.toml (instead of --train_data_dir${regDir ? ' and --reg_data_dir' : ''})`,
    '[general]',
    ...general.map((l) => `${l.arg} = ${tomlValue(l.value)}`),
    '',
    '[[datasets]]',
    `resolution = ${config.data.resolution}`,
    `batch_size = ${config.training.batch_size}`,
    '',
    '  # one subset per <repeats>_<name> folder: its images and how often each is seen per epoch',
    '  [[datasets.subsets]]',
    `  image_dir = ${tomlValue(`${dir}/1_${config.data.concept}`)}`,
    '  num_repeats = 1',
    ...(regDir ? ['', '  [[datasets.subsets]]', `  image_dir = ${tomlValue(`${regDir}/1_reg`)}`, '  is_reg = true', '  num_repeats = 1'] : []),
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
