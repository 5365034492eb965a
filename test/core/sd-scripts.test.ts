// The sd-scripts export: every flag and TOML key we write is an argument
// sd-scripts' own parser declares (test/fixtures/sd-scripts-args.json, read from
// kohya-ss/sd-scripts at the commit it names), fields are mapped, and what has
// no equivalent is said in a comment.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { METHODS, OPTIMIZERS, SCHEDULERS, type TrainConfig } from '../../core/src/config/schema.ts'
import { resolveConfig } from '../../core/src/config/validate.ts'
import { shellQuote, toSdScriptsCommand, toSdScriptsConfigToml, toSdScriptsDatasetToml, toSdScriptsToml } from '../../core/src/interop/sd-scripts.ts'

const known: { commit: string; arguments: string[]; dataset_keys: string[] } = JSON.parse(readFileSync(new URL('../fixtures/sd-scripts-args.json', import.meta.url), 'utf8'))
const ARGS = new Set(known.arguments)

function config(value: object): TrainConfig {
  const result = resolveConfig(value)
  if (!result.ok) throw new Error(JSON.stringify(result.issues))
  return result.config
}

// The script's own flags: those after its name (accelerate's come before it).
const flags = (command: string) => [...command.split('sdxl_train_network.py')[1].matchAll(/--(\w+)/g)].map((m) => m[1])
const tomlKeys = (toml: string) => [...toml.matchAll(/^\s*(\w+)\s*=/gm)].map((m) => m[1])

// Every method, optimizer and scheduler once, with the settings that add arguments switched on.
const configs: [string, object][] = [
  ...Object.keys(METHODS).map((name) => [`method ${name}`, { method: { name, train_text_encoder: true, text_encoder_lr: 1e-5, unet_lr: 1e-4 } }] as [string, object]),
  ...Object.keys(OPTIMIZERS).map((name) => [`optimizer ${name}`, { optimizer: { name, args: { eps: 1e-8 } } }] as [string, object]),
  ...Object.keys(SCHEDULERS).map((name) => [`scheduler ${name}`, { scheduler: { name, ...(['constant', 'piecewise_constant', 'rex'].includes(name) ? {} : { warmup_steps: 2 }), ...(name === 'inverse_sqrt' ? { timescale: 20 } : {}) } }] as [string, object]),
  [
    'every training switch',
    {
      data: { source: 'folder', path: '/data/my set', flip_aug: true },
      training: { epochs: 3, gradient_accumulation: 2, gradient_checkpointing: true, noise_offset: 0.05, multires_noise_iterations: 6, ip_noise_gamma: 0.1, min_snr_gamma: 5, prediction_type: 'v_prediction', cache_latents: 'disk', dataloader_workers: 2, save_state_every: 10, resume: 'run-1' },
      sample: { every: 10 },
      eval: { every: 10 },
    },
  ],
  ['regularization folder', { data: { source: 'folder', path: '/data/set', reg_path: '/data/reg', prior_loss_weight: 0.5 } }],
  ['drawn regularization shapes', { data: { source: 'shapes', reg_images: 8, prior_loss_weight: 0.5 } }],
  ['dropouts', { method: { name: 'lora', dropout: 0.1, rank_dropout: 0.2, module_dropout: 0.05 } }],
  ['word embeddings', { method: { name: 'lora', embedding_words: ['star'], embedding_lr: 0.003 } }],
]

describe('sd-scripts export', () => {
  it(`names only arguments sd-scripts declares (read at ${known.commit.slice(0, 8)})`, () => {
    expect(ARGS.size).toBeGreaterThan(150)
    for (const [label, value] of configs) {
      const c = config(value)
      expect(flags(toSdScriptsCommand(c)).filter((f) => !ARGS.has(f)), label).toEqual([])
      expect(tomlKeys(toSdScriptsConfigToml(c)).filter((k) => !ARGS.has(k)), label).toEqual([])
      expect(tomlKeys(toSdScriptsDatasetToml(c)).filter((k) => !known.dataset_keys.includes(k)), label).toEqual([])
    }
  })

  it('maps a LoHa run onto lycoris.kohya with its network_args, LRs and training fields', () => {
    const c = config({
      method: { name: 'loha', rank: 16, alpha: 8, conv_rank: 4, conv_alpha: 2, train_text_encoder: true, text_encoder_lr: 5e-5 },
      optimizer: { name: 'prodigy', lr: 1, d_coef: 0.5 },
      scheduler: { name: 'cosine_with_restarts', num_cycles: 3, warmup_steps: 0.1 },
      training: { max_steps: 500, batch_size: 2, mixed_precision: 'bf16', cache_latents: 'disk' },
    })
    const command = toSdScriptsCommand(c)
    expect(command).toMatch(/^accelerate launch --num_cpu_threads_per_process 1 sdxl_train_network.py \\\n/m)
    for (const part of [
      '--network_module lycoris.kohya',
      '--network_args algo=loha conv_dim=4 conv_alpha=2',
      '--network_dim 16',
      '--network_alpha 8',
      '--text_encoder_lr 0.00005',
      '--optimizer_type Prodigy',
      'd_coef=0.5',
      '--lr_scheduler cosine_with_restarts',
      '--lr_scheduler_num_cycles 3',
      '--lr_warmup_steps 0.1',
      '--max_train_steps 500',
      '--train_batch_size 2',
      '--mixed_precision bf16',
      '--cache_latents',
      '--cache_latents_to_disk',
      '--save_model_as safetensors',
    ])
      expect(command).toContain(part)
    expect(command).not.toContain('--network_train_unet_only')
    const toml = toSdScriptsConfigToml(c)
    expect(toml).toContain('network_args = ["algo=loha", "conv_dim=4", "conv_alpha=2"]')
    expect(toml).toContain('cache_latents_to_disk = true')
    expect(toml).toContain('lr_warmup_steps = 0.1')
  })

  it('defaults map to networks.lora, UNet only, AdamW', () => {
    const command = toSdScriptsCommand(config({}))
    expect(command).toContain('--network_module networks.lora')
    expect(command).toContain('--network_train_unet_only')
    expect(command).toContain('--optimizer_type AdamW')
  })

  it("gradient clipping: tunebook's default (none) is sd-scripts' 0; sd-scripts' own 1 is left out", () => {
    expect(toSdScriptsCommand(config({}))).toContain('--max_grad_norm 0')
    expect(toSdScriptsCommand(config({ training: { max_grad_norm: 1 } }))).not.toContain('max_grad_norm')
    expect(toSdScriptsCommand(config({ training: { max_grad_norm: 0.5 } }))).toContain('--max_grad_norm 0.5')
  })

  it('adapters and states along the way: one save_every_n_steps, save_state when states are kept too', () => {
    const lines = (training: object) => toSdScriptsCommand(config({ training })).split('\n').filter((l) => /save_(every|state)/.test(l)).map((l) => l.trim().replace(/ \\$/, ''))
    expect(lines({ save_every: 25 })).toEqual(['--save_every_n_steps 25'])
    expect(lines({ save_state_every: 10 })).toEqual(['--save_every_n_steps 10', '--save_state'])
    expect(lines({ save_every: 25, save_state_every: 25 })).toEqual(['--save_every_n_steps 25', '--save_state'])
    expect(lines({ save_every: 25, save_state_every: 10 })).toEqual(['# training.save_state_every: 10; sd-scripts saves states with the adapter, here every 25 steps', '--save_every_n_steps 25', '--save_state'])
  })

  it('dropouts: network_dropout on the command line, rank and module dropout in network_args, none when off', () => {
    const lines = (method: object) => toSdScriptsCommand(config({ method })).split('\n').filter((l) => /dropout/.test(l) && !l.startsWith('#')).map((l) => l.trim().replace(/ \\$/, ''))
    expect(lines({ name: 'lora', dropout: 0.1, rank_dropout: 0.2, module_dropout: 0.05 })).toEqual(['--network_args rank_dropout=0.2 module_dropout=0.05', '--network_dropout 0.1'])
    expect(lines({ name: 'loha', rank_dropout: 0.2 })).toEqual(['--network_args algo=loha conv_dim=4 conv_alpha=4 rank_dropout=0.2'])
    expect(lines({ name: 'loha', rank_dropout: 0.2, rank_dropout_scale: true })).toEqual(['--network_args algo=loha conv_dim=4 conv_alpha=4 rank_dropout=0.2 rank_dropout_scale=True'])
    // networks.lora always scales its rank dropout: said where the cell does not.
    expect(toSdScriptsCommand(config({ method: { rank_dropout: 0.2 } }))).toMatch(/^# method.rank_dropout_scale: false, and sd-scripts' networks.lora always scales/m)
    expect(toSdScriptsCommand(config({ method: { rank_dropout: 0.2, rank_dropout_scale: true } }))).not.toContain('rank_dropout_scale')
    expect(lines({ name: 'lora' })).toEqual([])
  })

  it("start_from is network_weights; a run id becomes that run's adapter file", () => {
    expect(toSdScriptsCommand(config({ method: { start_from: '20261126-1200-abc' } }))).toContain('--network_weights runs/20261126-1200-abc/adapter.safetensors')
    expect(toSdScriptsCommand(config({ method: { start_from: '/loras/a.safetensors' } }))).toContain('--network_weights /loras/a.safetensors')
  })

  it('OFT passes its block size as network_dim, as LyCORIS reads it', () => {
    expect(toSdScriptsCommand(config({ method: { name: 'oft', block_size: 8 } }))).toContain('--network_dim 8')
    expect(toSdScriptsCommand(config({ method: { name: 'boft' } }))).toContain('--network_dim 16')
  })

  it('says what it cannot map instead of dropping it', () => {
    const c = config({ data: { source: 'shapes', concept: 'star', draw: 'even' }, method: { embedding_words: ['star'] }, scheduler: { name: 'warmup_stable_decay', decay_type: 'cosine' }, eval: { every: 5 } })
    const command = toSdScriptsCommand(c)
    expect(command).toMatch(/^# data.source: shapes \(concept star, 20 images, seed 0, draw even\)/m)
    expect(command).toMatch(/^# method.embedding_words: \[star\] train beside the adapter here; sd-scripts' network training trains no word embeddings/m)
    expect(command).toMatch(/^# scheduler.decay_type: cosine/m)
    expect(command).toMatch(/^# eval: /m)
    // Comments come before the command: a comment inside a continued line would end it.
    expect(command.lastIndexOf('\n#')).toBeLessThan(command.indexOf('accelerate launch'))
    expect(toSdScriptsConfigToml(c)).toMatch(/^# eval: /m)
  })

  it('regularization images: --reg_data_dir, --prior_loss_weight, and an is_reg subset in the dataset TOML', () => {
    const c = config({ data: { source: 'folder', path: '/data/my set', reg_path: '/data/reg set', prior_loss_weight: 0.5 } })
    const command = toSdScriptsCommand(c)
    expect(command).toContain("--reg_data_dir '/data/reg set'")
    expect(command).toContain('--prior_loss_weight 0.5')
    const toml = toSdScriptsConfigToml(c)
    expect(toml).toContain('reg_data_dir = "/data/reg set"')
    expect(toml).toContain('prior_loss_weight = 0.5')
    const dataset = toSdScriptsDatasetToml(c)
    expect(dataset).toMatch(/^# sd-scripts: --dataset_config dataset.toml \(instead of --train_data_dir and --reg_data_dir\)$/m)
    expect(dataset).toContain('  image_dir = "/data/my set/1_base"\n  num_repeats = 1\n')
    expect(dataset).toContain('  [[datasets.subsets]]\n  image_dir = "/data/reg set/1_reg"\n  is_reg = true\n  num_repeats = 1\n')
    // sd-scripts' dataset config takes prior_loss_weight only from the command line.
    expect(dataset).not.toContain('prior_loss_weight')
  })

  it("no regularization without its images: reg_images needs source shapes, prior_loss_weight a reg folder, 1 is sd-scripts' own", () => {
    for (const data of [{ source: 'folder', path: '/data/set', reg_images: 8, prior_loss_weight: 0.5 }, { source: 'shapes', prior_loss_weight: 0.5 }]) {
      const c = config({ data })
      expect(toSdScriptsCommand(c), JSON.stringify(data)).not.toMatch(/reg_data_dir|prior_loss_weight|reg_images/)
      expect(toSdScriptsDatasetToml(c), JSON.stringify(data)).not.toMatch(/is_reg|reg_data_dir/)
    }
    expect(toSdScriptsCommand(config({ data: { source: 'folder', path: '/data/set', reg_path: '/data/reg' } }))).not.toContain('prior_loss_weight')
  })

  it('regularization shapes drawn by tunebook go to reg_images, with a note that sd-scripts needs them on disk', () => {
    const c = config({ data: { source: 'shapes', reg_images: 8 } })
    const command = toSdScriptsCommand(c)
    expect(command).toContain('--reg_data_dir reg_images')
    expect(command).toMatch(/^# data.reg_images: 8 regularization images of the base shapes are drawn by tunebook; sd-scripts needs them on disk in <repeats>_<name> folders$/m)
    expect(toSdScriptsConfigToml(c)).toMatch(/^# data.reg_images: 8 /m)
    expect(toSdScriptsDatasetToml(c)).toContain('  image_dir = "reg_images/1_reg"\n  is_reg = true\n')
  })

  it("a compile mode goes to accelerate launch, whose compile sd-scripts' --torch_compile asks for", () => {
    const c = config({ training: { torch_compile: true, dynamo_mode: 'reduce-overhead' } })
    expect(toSdScriptsCommand(c)).toMatch(/^accelerate launch --num_cpu_threads_per_process 1 --dynamo_mode reduce-overhead sdxl_train_network.py \\\n  .*--torch_compile/ms)
    expect(toSdScriptsConfigToml(c)).toMatch(/^# sd-scripts: accelerate launch --num_cpu_threads_per_process 1 --dynamo_mode reduce-overhead sdxl_train_network.py --config_file config.toml$/m)
    expect(toSdScriptsCommand(config({ training: { torch_compile: false, dynamo_mode: 'reduce-overhead' } }))).not.toContain('dynamo_mode')
    expect(toSdScriptsCommand(config({ training: { torch_compile: true } }))).not.toContain('dynamo_mode')
  })

  it('schedulers sd-scripts lacks go through lr_scheduler_type with the class the trainer uses', () => {
    const command = toSdScriptsCommand(config({ optimizer: { lr: 0.002 }, scheduler: { name: 'rex', min_lr_ratio: 0.5 }, training: { max_steps: 100 } }))
    expect(command).toContain('--lr_scheduler_type pytorch_optimizer.lr_scheduler.rex.REXScheduler')
    expect(command).toContain('--lr_scheduler_args total_steps=100 max_lr=0.002 min_lr=0.001')
  })

  it('shell-quotes paths with spaces and quotes', () => {
    expect(shellQuote('/data/my set')).toBe("'/data/my set'")
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
    expect(shellQuote('models/shapes-xl')).toBe('models/shapes-xl')
    const command = toSdScriptsCommand(config({ data: { source: 'folder', path: '/data/my set' } }), { outputDir: 'out dir' })
    expect(command).toContain("--train_data_dir '/data/my set'")
    expect(command).toContain("--output_dir 'out dir'")
  })

  it('the TOML copy holds both files, the dataset at the run\'s resolution and batch size', () => {
    const c = config({ data: { resolution: 64 }, training: { batch_size: 3 } })
    const both = toSdScriptsToml(c)
    expect(both).toContain('# ---- config.toml ----')
    expect(both).toContain('# ---- dataset.toml ----')
    const dataset = toSdScriptsDatasetToml(c)
    expect(dataset).toContain('resolution = 64')
    expect(dataset).toContain('batch_size = 3')
    expect(dataset).toContain('[[datasets.subsets]]')
  })
})
