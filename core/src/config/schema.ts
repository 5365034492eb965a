// The training config, defined once. Everything else derives from this file:
// the exported JSON Schema (core/schema/train-config.schema.json) that the
// trainer validates against, the TypeScript types, editor hover docs and the
// error messages. Every field carries its default and a reason.
import Type, { type Static } from 'typebox'
import { METHODS, OPTIMIZERS, SCHEDULERS, names } from './registries.ts'

const section = <P extends Record<string, any>>(description: string, properties: P) =>
  Type.Object(properties, { description, additionalProperties: false, default: {} })

export const ModelSection = Type.String({
  minLength: 1,
  default: 'shapes-xl',
  description:
    'Base model to fine-tune: the name of a folder under models/ (shapes-xl is the miniature SDXL that ships with tunebook) or a path to a diffusers model folder.',
})

export const DataSection = section('Where the training images and captions come from.', {
  generator: Type.Optional(
    Type.Enum(['shapes'], {
      default: 'shapes',
      description: 'Procedural dataset: small captioned images of shapes, drawn deterministically from a seed.',
    }),
  ),
  images: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 4096,
      default: 16,
      description: 'How many images the dataset holds. Typical LoRA datasets have 10 to 40 images of one concept.',
    }),
  ),
  seed: Type.Optional(
    Type.Integer({ minimum: 0, default: 0, description: 'Seed of the image generator: the same seed draws the same dataset.' }),
  ),
  resolution: Type.Optional(
    Type.Integer({
      minimum: 16,
      maximum: 2048,
      multipleOf: 8,
      default: 64,
      description:
        'Side of the square training images in pixels. SDXL trains at 1024, SD1.5 at 512; the shapes world at 64.',
    }),
  ),
})

export const MethodSection = section('The adapter that is trained on top of the frozen base model.', {
  name: Type.Optional(
    Type.Enum(names(METHODS), {
      default: 'lora',
      description: 'Fine-tuning method. ' + Object.values(METHODS).map((m) => `${m.label}: ${m.summary}`).join(' '),
    }),
  ),
  rank: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 8,
      description:
        'Rank r (network_dim in kohya): the width of the low-rank update. Higher rank can learn more but makes larger files; 4 to 32 is typical for SDXL.',
    }),
  ),
  alpha: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      default: 8,
      description:
        'Alpha (network_alpha): the update is scaled by alpha/rank. alpha = rank means scale 1; a smaller alpha damps the update, so it needs a higher learning rate.',
    }),
  ),
})

export const OptimizerSection = section('How gradients turn into weight updates.', {
  name: Type.Optional(
    Type.Enum(names(OPTIMIZERS), {
      default: 'adamw',
      description: 'Optimizer. ' + Object.values(OPTIMIZERS).map((o) => `${o.label}: ${o.summary}`).join(' '),
    }),
  ),
  lr: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 10,
      default: 0.001,
      description:
        'Base learning rate: the size of each step before the scheduler multiplies it. LoRA on SDXL is usually trained at 1e-4 to 1e-3.',
    }),
  ),
  weight_decay: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.01,
      description: 'Decoupled weight decay: pulls weights toward zero a little each step, a mild guard against overfitting.',
    }),
  ),
})

export const SchedulerSection = section('How the learning rate changes over the run (a multiplier on optimizer.lr).', {
  name: Type.Optional(
    Type.Enum(names(SCHEDULERS), {
      default: 'constant',
      description: 'LR scheduler. ' + Object.values(SCHEDULERS).map((s) => `${s.label}: ${s.summary}`).join(' '),
    }),
  ),
  warmup_steps: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Optimizer steps over which the multiplier ramps linearly from 0 to 1 before the schedule starts. Warmup steadies the first updates of adaptive optimizers.',
    }),
  ),
})

export const TrainingSection = section('How long and in what chunks to train.', {
  max_steps: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1000000,
      default: 40,
      description: 'Number of optimizer steps to train for (max_train_steps in sd-scripts).',
    }),
  ),
  batch_size: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 256,
      default: 4,
      description:
        'Images per step. Larger batches give a smoother loss and use more memory; 1 to 4 is typical on one GPU.',
    }),
  ),
  seed: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Seed for adapter initialisation, noise and timesteps: the same seed on the same machine gives the same run.',
    }),
  ),
})

export const TrainConfigSchema = Type.Object(
  {
    model: Type.Optional(ModelSection),
    data: Type.Optional(DataSection),
    method: Type.Optional(MethodSection),
    optimizer: Type.Optional(OptimizerSection),
    scheduler: Type.Optional(SchedulerSection),
    training: Type.Optional(TrainingSection),
  },
  {
    $id: 'https://tunebook.local/schema/train-config.json',
    title: 'tunebook training config',
    description: 'The YAML body of a train cell. Every field is optional; omitted fields take their defaults.',
    additionalProperties: false,
  },
)

type Resolved<T> = T extends object ? (T extends readonly unknown[] ? T : { [K in keyof T]-?: Resolved<T[K]> }) : T

/** A config as the user wrote it: any field may be missing. */
export type TrainConfigInput = Static<typeof TrainConfigSchema>
/** A config after defaults: every field present. This is what the trainer receives. */
export type TrainConfig = Resolved<TrainConfigInput>
