// The kohya_ss GUI's JSON presets: a second vocabulary over sd-scripts'
// arguments. This file only translates a preset into the sd-scripts arguments
// kohya_ss would pass (the way its lora_gui builds them); the one table in
// sd-scripts-table.ts takes it from there.

/** An sd-scripts argument read from the preset, or a key that kohya_ss would not pass on, and why. */
export type KohyaEntry = { arg: string; value: unknown; key: string } | { skip: string; value: unknown; reason: string; inert?: boolean }

// Preset keys whose sd-scripts argument has another name.
const RENAMES: Record<string, string> = {
  optimizer: 'optimizer_type',
  max_resolution: 'resolution',
  sdxl_cache_text_encoder_outputs: 'cache_text_encoder_outputs',
  epoch: 'max_train_epochs',
  lora_network_weights: 'network_weights',
}

// Preset keys that kohya_ss passes inside network_args, under these names.
const NETWORK_KEYS: Record<string, string> = {
  conv_dim: 'conv_dim',
  conv_alpha: 'conv_alpha',
  use_tucker: 'use_tucker',
  use_scalar: 'use_scalar',
  rank_dropout: 'rank_dropout',
  module_dropout: 'module_dropout',
  rank_dropout_scale: 'rank_dropout_scale',
  train_norm: 'train_norm',
  bypass_mode: 'bypass_mode',
  dora_wd: 'dora_wd',
  LyCORIS_preset: 'preset',
  factor: 'factor',
  decompose_both: 'decompose_both',
  full_matrix: 'full_matrix',
  train_on_input: 'train_on_input',
  constrain: 'constraint',
  rescaled: 'rescaled',
  unit: 'block_size',
  loraplus_lr_ratio: 'loraplus_lr_ratio',
}
const LYCORIS = ['conv_dim', 'conv_alpha', 'use_tucker', 'use_scalar', 'rank_dropout', 'module_dropout', 'rank_dropout_scale', 'train_norm', 'bypass_mode', 'dora_wd', 'LyCORIS_preset', 'loraplus_lr_ratio']

/** Each LoRA_type: the network module, LyCORIS' algorithm, and which preset keys go into network_args. */
const LORA_TYPES: Record<string, { module: string; algo?: string; keys: string[] }> = {
  Standard: { module: 'networks.lora', keys: ['rank_dropout', 'module_dropout', 'loraplus_lr_ratio'] },
  'Kohya LoCon': { module: 'networks.lora', keys: ['conv_dim', 'conv_alpha', 'rank_dropout', 'module_dropout', 'loraplus_lr_ratio'] },
  'Kohya DyLoRA': { module: 'networks.dylora', keys: ['conv_dim', 'conv_alpha', 'unit'] },
  'LyCORIS/LoCon': { module: 'lycoris.kohya', algo: 'locon', keys: LYCORIS },
  'LyCORIS/LoHa': { module: 'lycoris.kohya', algo: 'loha', keys: LYCORIS },
  'LyCORIS/LoKr': { module: 'lycoris.kohya', algo: 'lokr', keys: [...LYCORIS, 'factor', 'decompose_both', 'full_matrix'] },
  'LyCORIS/iA3': { module: 'lycoris.kohya', algo: 'ia3', keys: ['train_on_input', 'LyCORIS_preset'] },
  'LyCORIS/DyLoRA': { module: 'lycoris.kohya', algo: 'dylora', keys: [...LYCORIS, 'unit'] },
  'LyCORIS/Diag-OFT': { module: 'lycoris.kohya', algo: 'diag-oft', keys: ['constrain', 'rescaled', 'LyCORIS_preset'] },
  'LyCORIS/BOFT': { module: 'lycoris.kohya', algo: 'boft', keys: ['constrain', 'rescaled', 'LyCORIS_preset'] },
  'LyCORIS/GLoRA': { module: 'lycoris.kohya', algo: 'glora', keys: LYCORIS },
  'LyCORIS/Native Fine-Tuning': { module: 'lycoris.kohya', algo: 'full', keys: ['train_norm', 'LyCORIS_preset'] },
}

/** The GUI writes numbers as text ("seed": "1234") and leaves unset fields empty. */
const normalise = (value: unknown) => (typeof value === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim()) ? Number(value) : value)
const isEmpty = (value: unknown) => value === '' || value === null
// Counts where the GUI writes 0 for "not set".
const ZERO_IS_UNSET = ['max_train_steps', 'max_train_epochs']

/** A kohya_ss preset as the sd-scripts arguments kohya_ss would pass, plus the keys it would not. */
export function kohyaPresetArgs(preset: Record<string, unknown>): KohyaEntry[] {
  const entries: KohyaEntry[] = []
  const values = new Map(Object.entries(preset).map(([k, v]) => [k, normalise(v)]))
  const take = (key: string) => {
    const value = values.get(key)
    values.delete(key)
    return value
  }
  const put = (arg: string, value: unknown, key: string) => entries.push({ arg, value, key })

  const type = String(take('LoRA_type') ?? 'Standard')
  const lora = LORA_TYPES[type]
  if (!lora) entries.push({ skip: 'LoRA_type', value: type, reason: `no tunebook method; known: ${Object.keys(LORA_TYPES).join(', ')}` })
  else {
    put('network_module', lora.module, 'LoRA_type')
    const networkArgs = lora.algo ? [`algo=${lora.algo}`] : []
    for (const key of Object.keys(NETWORK_KEYS)) {
      const value = take(key)
      // kohya_ss passes LoRA+ only when its ratio is above 0.
      if (value === undefined || isEmpty(value) || (key === 'loraplus_lr_ratio' && value === 0)) continue
      const name = type === 'Kohya DyLoRA' && key === 'unit' ? 'unit' : NETWORK_KEYS[key]
      if (lora.keys.includes(key)) networkArgs.push(`${name}=${value === true ? 'True' : value === false ? 'False' : value}`)
      else entries.push({ skip: key, value, reason: `kohya_ss does not pass it for LoRA_type ${type}`, inert: true })
    }
    if (networkArgs.length) put('network_args', networkArgs, 'LoRA_type')
  }

  // 0 means "use learning_rate"; a text-encoder LR of 0 beside a UNet LR trains the UNet only, as in kohya_ss.
  const unetLr = take('unet_lr')
  const teLr = take('text_encoder_lr')
  if (unetLr) put('unet_lr', unetLr, 'unet_lr')
  if (teLr) put('text_encoder_lr', teLr, 'text_encoder_lr')
  else if (unetLr) put('network_train_unet_only', true, 'text_encoder_lr')

  // lr_warmup is a percentage of the run; newer presets may give lr_warmup_steps instead.
  const warmupPct = take('lr_warmup')
  if (typeof warmupPct === 'number' && warmupPct > 0 && !values.get('lr_warmup_steps')) put('lr_warmup_steps', warmupPct / 100, 'lr_warmup')

  // kohya_ss hands dynamo_backend to accelerate launch, which compiles the UNet with it: sd-scripts' --torch_compile.
  const dynamo = take('dynamo_backend')
  const compiles = dynamo !== undefined && dynamo !== 'no' && !isEmpty(dynamo)
  if (compiles) {
    put('torch_compile', true, 'dynamo_backend')
    put('dynamo_backend', String(dynamo).toLowerCase(), 'dynamo_backend')
  } else if (dynamo !== undefined) entries.push({ skip: 'dynamo_backend', value: dynamo, reason: 'no compiling', inert: true })
  // ... and its dynamo_mode too, which no sd-scripts argument carries: the importer can only name the field.
  const mode = take('dynamo_mode')
  if (mode !== undefined && (!compiles || mode === 'default' || isEmpty(mode))) entries.push({ skip: 'dynamo_mode', value: mode, reason: compiles ? "torch.compile's default mode" : 'no compiling', inert: true })
  else if (mode !== undefined) entries.push({ skip: 'dynamo_mode', value: mode, reason: `accelerate launch's compile mode, which sd-scripts' arguments cannot carry: set training.dynamo_mode: ${mode} in the cell` })

  const attention = take('xformers')
  if (attention === true || attention === 'xformers') put('xformers', true, 'xformers')
  else if (attention === 'sdpa') put('sdpa', true, 'xformers')

  if (!isEmpty(values.get('max_train_epochs')) && values.get('max_train_epochs') !== 0) values.delete('epoch')
  for (const [key, value] of values) {
    if (isEmpty(value) || (value === 0 && ZERO_IS_UNSET.includes(key))) entries.push({ skip: key, value, reason: 'empty', inert: true })
    else put(RENAMES[key] ?? key, value, key)
  }
  return entries
}
