// The sd-scripts / kohya_ss import: real files (test/fixtures/interop/SOURCES.md
// says where each comes from) become a train cell's YAML; what is not imported
// is listed with its reason; bad files fail naming the file and key or line; and
// the import and the export, one table read both ways, undo each other.
import { readFileSync } from 'node:fs'
import { parse as parseToml } from 'smol-toml'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { METHODS, OPTIMIZERS, SCHEDULERS, type MethodName, type TrainConfig } from '../../core/src/config/schema.ts'
import { READERS } from '../../core/src/config/sections/method.ts'
import { resolveConfig } from '../../core/src/config/validate.ts'
import { importTrainConfig, type ImportFile } from '../../core/src/interop/sd-scripts-import.ts'
import { TABLE_ARGS } from '../../core/src/interop/sd-scripts-table.ts'
import { toSdScriptsConfigToml, toSdScriptsDatasetToml } from '../../core/src/interop/sd-scripts.ts'

const fixture = (name: string): ImportFile => ({ name, text: readFileSync(new URL(`../fixtures/interop/${name}`, import.meta.url), 'utf8') })
const known: { arguments: string[] } = JSON.parse(readFileSync(new URL('../fixtures/sd-scripts-args.json', import.meta.url), 'utf8'))

function resolved(value: object): TrainConfig {
  const result = resolveConfig(structuredClone(value))
  if (!result.ok) throw new Error(JSON.stringify(result.issues))
  return result.config
}
const importText = (text: string, name = 'config.toml') => importTrainConfig([{ name, text }])
const QUIET = /^# not imported, nothing to do \(off, empty, or what tunebook does anyway\):\n((?:# {2}.*\n)*)/m
/** The names in the YAML's list of what was not imported and changes nothing. */
const quiet = (yaml: string) => (QUIET.exec(yaml)?.[1] ?? '').split('\n').flatMap((line) => line.replace(/^#\s*/, '').split(', ')).filter(Boolean)
/** The arguments among `names` that the import lists as not imported, with their reasons. */
const loud = (notImported: string[], names: string[]) => notImported.filter((line) => names.some((name) => line.startsWith(`${name} =`)))

describe('sd-scripts import: real files', () => {
  it("sd-scripts' training TOML with kohya_ss' dataset TOML: the dataset's values win, the folder layout becomes data.path", () => {
    const result = importTrainConfig([fixture('sdxl_inpainting_test_lora.toml'), fixture('kohya_ss-dataset.toml')])
    const config = resolved(parseYaml(result.yaml))
    expect(config.data).toMatchObject({ source: 'folder', path: './test/img', resolution: 512, buckets: true, bucket_min_side: 64, bucket_max_side: 1024, bucket_step: 64, keep_tokens: 1 })
    expect(config.method).toMatchObject({ name: 'lora', rank: 4, alpha: 1, train_text_encoder: true })
    expect(config.optimizer.lr).toBe(1e-4)
    expect(config.training).toMatchObject({ max_steps: 20, batch_size: 4, mixed_precision: 'bf16', gradient_checkpointing: true, cache_latents: 'off', save_every: 20, save_state_every: 0 })
    // Spelled-out values at which sd-scripts trains as tunebook does: nothing to do, listed quietly.
    const asTunebook = ['sdpa', 'noise_offset_type', 'save_model_as']
    expect(loud(result.notImported, asTunebook)).toEqual([])
    expect(quiet(result.yaml)).toEqual(expect.arrayContaining(asTunebook))
    expect(resolved(parseYaml(result.yaml)).training.save_precision).toBe('fp16')
    expect(result.yaml).toMatch(/^# {3}resolution = "1024,1024" \(kohya_ss-dataset.toml sets datasets\[0\].resolution\)$/m)
    expect(result.yaml).toMatch(/^# {3}train_inpainting = true \(no tunebook equivalent\)$/m)
    expect(result.yaml).toMatch(/^# {3}class_tokens = "darius kawasaki person" \(tunebook needs a caption file/m)
    // Not in the file: sd-scripts trains the text encoders unless told otherwise, and the YAML says so.
    expect(result.yaml).toMatch(/train_text_encoder: true # sd-scripts default/)
  })

  it('a kohya_ss LoHa preset: LoRA_type, conv_dim, the epoch count, the caches and the GUI strings', () => {
    const result = importTrainConfig([fixture('kohya_ss-SDXL-LoHA-AI_Characters-v1.0.json')])
    const config = resolved(parseYaml(result.yaml))
    expect(config.method).toMatchObject({ name: 'loha', rank: 32, alpha: 32, conv_rank: 16, conv_alpha: 16, unet_lr: 0.001, text_encoder_lr: 0.001 })
    expect(config.optimizer).toMatchObject({ name: 'adamw8bit', lr: 0.001 })
    expect(config.data).toMatchObject({ resolution: 1024, buckets: true, bucket_step: 32, bucket_max_side: 2048, caption_dropout: 0.05, keep_tokens: 0 })
    expect(config.training).toMatchObject({ epochs: 100, batch_size: 8, mixed_precision: 'fp16', min_snr_gamma: 5, cache_latents: 'disk', gradient_checkpointing: true })
    expect(result.notImported).toContain('xformers = true (tunebook always uses PyTorch SDPA attention)')
    expect(config.training.scale_weight_norms).toBe(2.5)
    // Empty GUI fields, switched-off options and the GUI's defaults that tunebook shares are listed once, together.
    const asTunebook = ['noise_offset_type', 'sdxl_no_half_vae']
    expect(loud(result.notImported, asTunebook)).toEqual([])
    expect(quiet(result.yaml)).toEqual(expect.arrayContaining(['color_aug', ...asTunebook]))
  })

  it('a kohya_ss preset that points at a dataset TOML, imported together with it', () => {
    const result = importTrainConfig([fixture('kohya_ss-dataset.toml'), fixture('kohya_ss-locon-AdamW8bit-toml.json')])
    const config = resolved(parseYaml(result.yaml))
    expect(config.model).toBe('runwayml/stable-diffusion-v1-5')
    expect(config.method).toMatchObject({ name: 'lora', rank: 8, alpha: 1, unet_lr: null })
    expect(config.training).toMatchObject({ seed: 1234, batch_size: 4, noise_offset: 0.05, min_snr_gamma: null, epochs: 1, max_grad_norm: 1, clip_skip: 2 })
    expect(config.sample.every).toBe(25)
    expect(result.notImported).toContain('sample_sampler = "euler_a" (tunebook samples with euler or dpmsolver++)')
    // conv_dim is only passed for LoCon types: with Standard it is quietly off, not a LoCon.
    expect(result.notImported.some((l) => l.startsWith('conv_dim'))).toBe(false)
  })
})

describe('sd-scripts import: values at which sd-scripts does what tunebook does', () => {
  it('are listed quietly; other values of the same arguments are listed with their reason', () => {
    const values = ['noise_offset_type = "Original"', 'save_model_as = "safetensors"', 'sdpa = true', 'no_half_vae = true', 'sdxl_no_half_vae = true', 'persistent_data_loader_workers = true']
    const same = importText(`${values.join('\n')}\nxformers = true\n`)
    // xformers asks for another attention implementation: worth telling, so it stays listed.
    expect(same.notImported).toEqual(['xformers = true (tunebook always uses PyTorch SDPA attention)'])
    expect(quiet(same.yaml)).toEqual(values.map((v) => v.split(' =')[0]))
    const other = importText('noise_offset_type = "Multires"\nsave_model_as = "ckpt"\n')
    expect(other.notImported).toEqual([
      'noise_offset_type = "Multires" (no tunebook equivalent)',
      'save_model_as = "ckpt" (tunebook always saves safetensors in the kohya format)',
    ])
    expect(quiet(other.yaml)).toEqual([])
  })
})

describe('sd-scripts import: saving along the way', () => {
  it('save_every_n_steps saves adapters (training.save_every); with save_state, states at the same steps', () => {
    expect(resolved(importText('save_every_n_steps = 50\n').config).training).toMatchObject({ save_every: 50, save_state_every: 0 })
    expect(resolved(importText('save_every_n_steps = 50\nsave_state = true\n').config).training).toMatchObject({ save_every: 50, save_state_every: 50 })
    expect(importText('save_every_n_epochs = 2\n').notImported).toContain('save_every_n_epochs = 2 (tunebook counts saves in steps: set training.save_every to the steps of that many epochs)')
  })
})

describe('sd-scripts import: gradient clipping', () => {
  it("sd-scripts' 1 where a file says nothing, 0 as no clipping", () => {
    const absent = importText('learning_rate = 1e-4\n')
    expect(resolved(absent.config).training.max_grad_norm).toBe(1)
    expect(absent.yaml).toMatch(/max_grad_norm: 1 # sd-scripts default/)
    expect(resolved(importText('max_grad_norm = 0\n').config).training.max_grad_norm).toBeNull()
    expect(resolved(importText('max_grad_norm = 0.5\n').config).training.max_grad_norm).toBe(0.5)
  })
})

describe('sd-scripts import: kohya_ss LoRA types and optimizer arguments', () => {
  const preset = (values: object) => resolved(importText(JSON.stringify(values), 'preset.json').config)

  it.each([
    ['LyCORIS/LoKr', { factor: 8, decompose_both: true }, { name: 'lokr', factor: 8, decompose_both: true }],
    ['LyCORIS/Diag-OFT', { network_dim: 8, constrain: 0.001, rescaled: true }, { name: 'oft', block_size: 8, constraint: 0.001, rescaled: true }],
    ['Kohya DyLoRA', { network_dim: 16, unit: 4 }, { name: 'dylora', rank: 16, block_size: 4 }],
    ['Kohya LoCon', { conv_dim: 8, conv_alpha: 2 }, { name: 'locon', conv_rank: 8, conv_alpha: 2 }],
    ['LyCORIS/iA3', {}, { name: 'ia3' }],
    ['Standard', { network_dropout: 0.1, rank_dropout: 0.2, module_dropout: 0.05 }, { name: 'lora', dropout: 0.1, rank_dropout: 0.2, module_dropout: 0.05, rank_dropout_scale: true }],
    ['LyCORIS/LoHa', { network_dropout: 0.1, rank_dropout: 0.2, module_dropout: 0.05 }, { name: 'loha', dropout: 0.1, rank_dropout: 0.2, module_dropout: 0.05, rank_dropout_scale: false }],
    ['LyCORIS/LoCon', { rank_dropout: 0.2, rank_dropout_scale: true }, { name: 'locon', rank_dropout: 0.2, rank_dropout_scale: true }],
    ['Standard', { loraplus_lr_ratio: 16 }, { name: 'lora', loraplus_lr_ratio: 16 }],
    ['Kohya LoCon', { conv_dim: 4, loraplus_lr_ratio: 0 }, { name: 'locon', loraplus_lr_ratio: null }],
    ['Standard', { lora_network_weights: '/loras/old.safetensors', dim_from_weights: false }, { name: 'lora', start_from: '/loras/old.safetensors' }],
  ])('%s', (type, extra, method) => {
    expect(preset({ LoRA_type: type, LyCORIS_preset: 'attn-mlp', ...extra }).method).toMatchObject(method)
  })

  it('Prodigy with its optimizer_args: known ones into fields, the rest into optimizer.args', () => {
    const c = preset({ optimizer: 'Prodigy', optimizer_args: 'weight_decay=0.01 decouple=True d0=0.0001 use_bias_correction=True', learning_rate: 1 })
    expect(c.optimizer).toMatchObject({ name: 'prodigy', weight_decay: 0.01, use_bias_correction: true, args: { decouple: true, d0: 0.0001 } })
  })

  it("an SDXL preset's clip skip is listed, not imported: sd-scripts ignores it there", () => {
    const result = importText(JSON.stringify({ sdxl: true, clip_skip: 2 }), 'preset.json')
    expect(resolved(result.config).training.clip_skip).toBe(1)
    expect(result.notImported).toContainEqual(expect.stringMatching(/^clip_skip = 2 \(.*ignores clip skip for SDXL/))
    expect(resolved(importText(JSON.stringify({ sdxl: false, clip_skip: 2 }), 'preset.json').config).training.clip_skip).toBe(2)
  })

  it('a dropout the method would not apply is listed with the methods that would', () => {
    const result = importText(JSON.stringify({ LoRA_type: 'LyCORIS/Diag-OFT', LyCORIS_preset: 'attn-mlp', network_dropout: 0.1 }), 'preset.json')
    expect(resolved(result.config).method).toMatchObject({ name: 'oft', dropout: 0 })
    expect(result.notImported).toContainEqual(expect.stringMatching(/^network_dropout = 0.1 \(.*method oft has no neuron dropout \(lora, locon, loha, lokr, glora have\)/))
  })

  it('a text-encoder LR of 0 beside a UNet LR trains the UNet only, as in kohya_ss', () => {
    expect(preset({ unet_lr: 0.0001, text_encoder_lr: 0 }).method).toMatchObject({ unet_lr: 0.0001, train_text_encoder: false })
  })

  it('dynamo_mode, which kohya_ss hands to accelerate launch too, is named with the field to set; the default is listed quietly', () => {
    const fast = importText(JSON.stringify({ dynamo_backend: 'inductor', dynamo_mode: 'reduce-overhead' }), 'preset.json')
    expect(fast.config.training).toMatchObject({ torch_compile: true, dynamo_backend: 'inductor' })
    expect(fast.notImported.join('\n')).toMatch(/dynamo_mode = "?reduce-overhead"? \(accelerate launch's compile mode, which sd-scripts' arguments cannot carry: set training\.dynamo_mode: reduce-overhead in the cell\)/)
    for (const preset of [{ dynamo_backend: 'inductor', dynamo_mode: 'default' }, { dynamo_backend: 'no', dynamo_mode: 'reduce-overhead' }]) {
      expect(importText(JSON.stringify(preset), 'preset.json').notImported.join('\n')).not.toMatch(/dynamo_mode/)
    }
  })

  it("dynamo_backend, which kohya_ss hands to accelerate launch, compiles the UNet; 'no' is listed quietly", () => {
    expect(preset({ dynamo_backend: 'inductor' }).training).toMatchObject({ torch_compile: true, dynamo_backend: 'inductor' })
    expect(preset({ dynamo_backend: 'aot_eager' }).training).toMatchObject({ torch_compile: true, dynamo_backend: 'aot_eager' })
    const off = importText(JSON.stringify({ dynamo_backend: 'no' }), 'preset.json')
    expect(resolved(off.config).training.torch_compile).toBe(false)
    expect(quiet(off.yaml)).toContain('dynamo_backend')
    expect(off.notImported).toEqual([])
  })

  it('lr_warmup is a percentage of the run', () => {
    expect(preset({ lr_scheduler: 'cosine', lr_warmup: 10 }).scheduler).toMatchObject({ name: 'cosine', warmup_steps: 0.1 })
  })
})

describe('sd-scripts import: regularization images', () => {
  const dataset = (subsets: string) => ({ name: 'dataset.toml', text: `[[datasets]]\nresolution = 512\n${subsets}` })
  const train = "[[datasets.subsets]]\nimage_dir = '/data/set/10_star'\nnum_repeats = 10\nkeep_tokens = 1\n"

  it('is_reg subsets become data.reg_path; the training subsets alone decide data.path', () => {
    const result = importTrainConfig([dataset(`${train}[[datasets.subsets]]\nimage_dir = '/data/reg/1_shape'\nis_reg = true\nkeep_tokens = 1\n`)])
    expect(resolved(result.config).data).toMatchObject({ source: 'folder', path: '/data/set', reg_path: '/data/reg', keep_tokens: 1 })
    expect(result.notImported).toEqual([])
    // is_reg is what makes a subset regularization, not a setting left behind.
    expect(result.yaml).not.toContain('is_reg')
  })

  it('a regularization subset with other caption settings than the training images is listed', () => {
    const result = importTrainConfig([dataset(`${train}[[datasets.subsets]]\nimage_dir = '/data/reg/1_shape'\nis_reg = true\nkeep_tokens = 0\n`)])
    expect(resolved(result.config).data).toMatchObject({ reg_path: '/data/reg', keep_tokens: 1 })
    expect(result.notImported).toEqual(['datasets[0].subsets[1].keep_tokens = 0 (tunebook reads regularization images with the caption settings of the training images (those of the first subset))'])
  })

  it('regularization subsets outside the <repeats>_<name> layout, or in different parents, are listed', () => {
    const outside = importTrainConfig([dataset(`${train}[[datasets.subsets]]\nimage_dir = '/data/reg'\nis_reg = true\n`)])
    expect(resolved(outside.config).data).toMatchObject({ path: '/data/set', reg_path: '' })
    expect(outside.notImported).toEqual([
      'datasets[0].subsets[1].image_dir = "/data/reg (num_repeats 1)" (tunebook reads one folder of <repeats>_<name> folders (data.reg_path): put each subset in <parent>/<num_repeats>_<name> and set data.reg_path to <parent>)',
    ])
    const apart = importTrainConfig([dataset(`${train}[[datasets.subsets]]\nimage_dir = '/data/reg/1_a'\nis_reg = true\n[[datasets.subsets]]\nimage_dir = '/other/reg/1_b'\nis_reg = true\n`)])
    expect(resolved(apart.config).data).toMatchObject({ path: '/data/set', reg_path: '' })
    expect(apart.notImported.map((l) => l.split(' =')[0])).toEqual(['datasets[0].subsets[1].image_dir', 'datasets[0].subsets[2].image_dir'])
  })

  it('a kohya_ss preset with reg_data_dir and prior_loss_weight', () => {
    const config = resolved(importText(JSON.stringify({ train_data_dir: '/data/set', reg_data_dir: '/data/reg', prior_loss_weight: '0.5' }), 'preset.json').config)
    expect(config.data).toMatchObject({ source: 'folder', path: '/data/set', reg_path: '/data/reg', prior_loss_weight: 0.5 })
  })

  it("an empty reg_data_dir is inert: the fixture preset's and a TOML's", () => {
    const preset = importTrainConfig([fixture('kohya_ss-locon-AdamW8bit-toml.json')])
    const toml = importText('reg_data_dir = ""\n')
    for (const result of [preset, toml]) {
      expect(result.config).not.toHaveProperty('data.reg_path')
      expect(result.notImported.filter((l) => l.startsWith('reg_data_dir'))).toEqual([])
      expect(quiet(result.yaml)).toContain('reg_data_dir')
    }
  })
})

describe('sd-scripts import: bad files', () => {
  it('a TOML syntax error names the file, line and column', () => {
    expect(() => importText('learning_rate = 1e-4\nnetwork_args = ["algo=loha"', 'my config.toml')).toThrow(/^my config.toml: line 2, column \d+: /)
  })
  it('a JSON syntax error names the file and line', () => {
    expect(() => importText('{\n  "LoRA_type": "Standard",\n  "network_dim": 8,,\n}', 'preset.json')).toThrow(/^preset.json: line 3: not valid JSON/)
  })
  it('a value of the wrong type names the file, line and key it came from', () => {
    expect(() => importText('mixed_precision = "bf16"\ntrain_batch_size = "four"\n')).toThrow(/^config.toml: line 2, train_batch_size: training.batch_size /)
  })
  it('a dataset file whose datasets are not tables says so', () => {
    expect(() => importTrainConfig([{ name: 'dataset.toml', text: 'datasets = [1, 2]' }])).toThrow(/^dataset.toml: datasets: must be tables/)
  })
})

// Every method, optimizer and scheduler once, with the fields it reads set away from their defaults
// (a field the method or schedule does not read has no sd-scripts argument to travel in).
const folder = { source: 'folder', path: '/data/my set' }
const METHOD_FIELDS: Record<string, object> = {
  locon: { conv_rank: 8, conv_alpha: 2 },
  loha: { conv_rank: 8, conv_alpha: 2 },
  lokr: { conv_rank: 8, conv_alpha: 2, factor: 4, decompose_both: true },
  dylora: { block_size: 8 },
  oft: { block_size: 8, constraint: 0.001, rescaled: true },
  boft: { block_size: 8, constraint: 0.001, rescaled: true },
}
// Each dropout the method applies, at its own value, the rank dropout scaled (as sd-scripts' networks.lora always does).
const dropoutsOf = (name: MethodName) => ({
  ...Object.fromEntries(Object.entries(READERS).flatMap(([field, methods], i) => (methods.includes(name) ? [[field, 0.1 + i / 10]] : []))),
  rank_dropout_scale: READERS.rank_dropout.includes(name),
})
const SCHEDULER_FIELDS: Record<string, object> = {
  cosine_with_restarts: { num_cycles: 3 },
  polynomial: { power: 2, lr_end: 1e-6 },
  piecewise_constant: { rules: '1:10,0.5' },
  cosine_with_min_lr: { min_lr_ratio: 0.2 },
  warmup_stable_decay: { decay_steps: 20, min_lr_ratio: 0.2, decay_type: 'linear' },
  inverse_sqrt: { timescale: 20 },
  rex: { min_lr_ratio: 0.2 },
  cosine_with_restarts_decay: { num_cycles: 4, min_lr_ratio: 0.2, gamma: 0.8 },
}
const NO_WARMUP = ['constant', 'piecewise_constant', 'rex']
const configs: [string, object][] = [
  ...Object.keys(METHODS).map((name) => [
    `method ${name}`,
    { data: folder, method: { name, ...(name.endsWith('oft') ? {} : { rank: 16 }), alpha: 4, train_text_encoder: true, text_encoder_lr: 1e-5, unet_lr: 1e-4, ...METHOD_FIELDS[name], ...dropoutsOf(name as MethodName) } },
  ] as [string, object]),
  ...Object.keys(OPTIMIZERS).map((name) => [`optimizer ${name}`, { data: folder, optimizer: { name, weight_decay: 0.02, args: { eps: 1e-8 } } }] as [string, object]),
  ...Object.keys(SCHEDULERS).map((name) => [
    `scheduler ${name}`,
    { data: folder, optimizer: { lr: 0.002 }, training: { max_steps: 100 }, scheduler: { name, ...(NO_WARMUP.includes(name) ? {} : { warmup_steps: 5 }), ...SCHEDULER_FIELDS[name] } },
  ] as [string, object]),
  [
    'every data and training switch',
    {
      data: { ...folder, resolution: 1024, buckets: true, bucket_min_side: 512, bucket_max_side: 1536, bucket_step: 32, shuffle_caption: true, keep_tokens: 1, caption_dropout: 0.1, caption_tag_dropout: 0.05, flip_aug: true },
      training: { epochs: 3, batch_size: 2, gradient_accumulation: 2, seed: 7, mixed_precision: 'bf16', full_bf16: true, gradient_checkpointing: true, noise_offset: 0.05, max_token_length: 225, multires_noise_iterations: 6, multires_noise_discount: 0.2, ip_noise_gamma: 0.1, min_snr_gamma: 5, debiased_estimation: true, min_timestep: 100, max_timestep: 900, max_grad_norm: 2, scale_weight_norms: 1, clip_skip: 2, prediction_type: 'v_prediction', cache_latents: 'disk', dataloader_workers: 2, save_precision: 'fp16', save_every: 10, save_state_every: 10, resume: 'run-1' },
      sample: { every: 10, sampler: 'dpmpp_2m' },
    },
  ],
  ['text-encoder outputs cached to disk, latents not at all', { data: folder, training: { cache_text_encoder_outputs: 'disk', cache_latents: 'off' } }],
  ['the defaults, on a folder', { data: folder }],
  ['regularization images', { data: { ...folder, reg_path: '/data/reg set', prior_loss_weight: 0.5 } }],
  ['started from an adapter', { data: folder, method: { start_from: '/loras/my star.safetensors' } }],
  ['a pseudo-Huber loss', { data: folder, training: { loss_type: 'smooth_l1', huber_c: 0.2, huber_schedule: 'exponential' } }],
  ['a Huber loss with its threshold scaled', { data: folder, training: { loss_type: 'huber', huber_c: 0.05, huber_schedule: 'constant', huber_scale: 2 } }],
  ['compiled with inductor', { data: folder, training: { torch_compile: true } }],
  ['compiled with CUDA graphs', { data: folder, training: { torch_compile: true, dynamo_backend: 'cudagraphs' } }],
]

describe('sd-scripts import and export undo each other', () => {
  it.each(configs)('import(export(config)) gives back the config: %s', (_, value) => {
    const config = resolved(value)
    const files = [{ name: 'config.toml', text: toSdScriptsConfigToml(config) }]
    expect(resolved(importTrainConfig(files).config)).toEqual(config)
  })

  it.each(configs)('the dataset TOML carries the same data settings: %s', (_, value) => {
    const config = resolved(value)
    const files = [
      { name: 'config.toml', text: toSdScriptsConfigToml(config) },
      { name: 'dataset.toml', text: toSdScriptsDatasetToml(config) },
    ]
    // The dataset TOML names one <repeats>_<name> folder under data.path.
    expect(resolved(importTrainConfig(files).config)).toEqual(config)
  })

  it('export(import(file)) keeps every argument the import took, with its value', () => {
    // Its test script passes train_data_dir on the command line; here it goes into the file.
    const real = fixture('sdxl_inpainting_test_lora.toml')
    const file = { ...real, text: `train_data_dir = "/data/set"\n${real.text}` }
    const original = parseToml(file.text) as Record<string, unknown>
    const imported = importTrainConfig([file])
    const exported = parseToml(toSdScriptsConfigToml(resolved(imported.config))) as Record<string, unknown>
    // caption_extension has no field: tunebook reads .txt and .caption alike, and writes .txt.
    const taken = Object.keys(original).filter((arg) => TABLE_ARGS.includes(arg) && arg !== 'caption_extension' && !imported.notImported.some((l) => l.startsWith(`${arg} =`)))
    expect(taken.length).toBeGreaterThan(12)
    // false flags and values equal to sd-scripts' own defaults are left out: absent means the same to sd-scripts.
    const sdDefaults: Record<string, unknown> = { lr_scheduler: 'constant', loss_type: 'l2', max_token_length: 75, clip_skip: 1, train_batch_size: 1, gradient_accumulation_steps: 1, min_bucket_reso: 256, bucket_reso_steps: 64, sample_every_n_steps: 0 }
    const meaningful = taken.filter((arg) => original[arg] !== false && sdDefaults[arg] !== original[arg])
    for (const arg of meaningful) expect(exported[arg], arg).toEqual(original[arg])
    // ...and importing the export gives the same cell.
    expect(resolved(importTrainConfig([{ name: 'again.toml', text: toSdScriptsConfigToml(resolved(imported.config)) }]).config)).toEqual(resolved(imported.config))
  })

  it('every argument the table reads or writes is one sd-scripts declares', () => {
    expect(TABLE_ARGS).toEqual(expect.arrayContaining(['train_data_dir', 'reg_data_dir', 'prior_loss_weight']))
    expect(TABLE_ARGS.filter((a) => !known.arguments.includes(a))).toEqual([])
  })
})
