// The scheduler section and the registry of scheduler names: one row per choice.
// trainer/schedulers.py is keyed by exactly these names (test/trainer/test_registries.py);
// core/src/schedules/ computes the same curves for previews.
import Type from 'typebox'
import { choice, section, type RegistryEntry } from './section.ts'

export const SCHEDULERS = {
  constant: {
    label: 'constant',
    summary: "The LR stays at its base value for the whole run (multiplier 1, diffusers' constant). It has no warmup; use constant_with_warmup for one.",
  },
  constant_with_warmup: {
    label: 'constant with warmup',
    summary: 'A linear ramp from 0 over the warmup steps, then the base LR to the end (diffusers).',
  },
  linear: {
    label: 'linear',
    summary: 'After warmup the multiplier falls in a straight line from 1 to 0 at the last step (diffusers).',
  },
  cosine: {
    label: 'cosine',
    summary:
      'After warmup the multiplier falls from 1 to 0 along half a cosine (diffusers): fast learning early, fine detail late, but half the run is spent below 0.5x.',
  },
  cosine_with_restarts: {
    label: 'cosine with restarts',
    summary:
      'After warmup, num_cycles cosine falls from 1 to 0, each ending in a hard jump back to 1 (diffusers). The community warns that restarts can fry a LoRA.',
  },
  polynomial: {
    label: 'polynomial',
    summary: 'After warmup the LR falls from its base value to lr_end as (1 - progress)^power (diffusers); power 1 is a line, 2 falls faster early.',
  },
  piecewise_constant: {
    label: 'piecewise constant',
    summary: 'Steps of fixed multipliers given by scheduler.rules, e.g. "1:100,0.1:200,0.01" (diffusers). No warmup.',
  },
  cosine_with_min_lr: {
    label: 'cosine with min LR',
    summary: 'Cosine after warmup, but it floors at min_lr_ratio × the base LR instead of 0 (transformers).',
  },
  warmup_stable_decay: {
    label: 'warmup-stable-decay',
    summary:
      'Warmup, a long flat stretch at the base LR, then a decay over the last decay_steps down to min_lr_ratio (transformers\' WSD). A run can be extended from any point of the flat stretch.',
  },
  inverse_sqrt: {
    label: 'inverse square root',
    summary: 'After warmup the multiplier falls as 1/sqrt(step / timescale) (transformers): quickly at first, then ever more slowly, never to 0.',
  },
  rex: {
    label: 'REX',
    summary:
      "pytorch-optimizer's REX: a rational decay (1 - p) / (1 - p/2) from 1 to min_lr_ratio that stays high longer than linear. No warmup; the first step runs at the peak.",
  },
  cosine_with_restarts_decay: {
    label: 'cosine restarts, decaying peaks',
    summary:
      "pytorch-optimizer's CosineAnnealingWarmupRestarts: num_cycles equal cycles, each with its own warmup from min_lr_ratio and a cosine back down; each peak is gamma times the previous one.",
  },
} as const satisfies Record<string, RegistryEntry>

export type SchedulerName = keyof typeof SCHEDULERS

/** An integer step count, or a ratio in (0, 1) of the run's optimizer steps (sd-scripts' lr_warmup_steps semantics). */
const stepsOrRatio = (description: string, fallback: number) =>
  Type.Optional(
    Type.Union([Type.Integer({ minimum: 0 }), Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })], { default: fallback, description }),
  )

export const SchedulerSection = section('How the learning rate changes over the run (a multiplier on optimizer.lr per optimizer step).', {
  name: choice(SCHEDULERS, 'constant', 'LR scheduler.'),
  warmup_steps: stepsOrRatio(
    'Warmup: optimizer steps over which the multiplier ramps linearly from 0 to 1 before the schedule starts. An integer is a step count; a number between 0 and 1 is a ratio of the run (int(ratio × steps), as sd-scripts reads lr_warmup_steps). Warmup steadies the first updates; 5-10% is common. Schedules without a warmup phase (constant, piecewise_constant, rex) reject it.',
    0,
  ),
  num_cycles: Type.Optional(
    Type.Integer({
      minimum: 1,
      default: 1,
      description:
        'cosine_with_restarts and cosine_with_restarts_decay: how many cosine cycles the run holds (sd-scripts\' lr_scheduler_num_cycles). 1 is a plain cosine; 3 to 4 is a typical restarts run.',
    }),
  ),
  power: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      default: 1,
      description: 'polynomial only: the exponent of the decay (sd-scripts\' lr_scheduler_power). 1 is linear; above 1 drops faster early.',
    }),
  ),
  lr_end: Type.Optional(
    Type.Number({
      minimum: 0,
      default: 1e-7,
      description: 'polynomial only: the absolute LR reached at the last step. It must be below optimizer.lr.',
    }),
  ),
  rules: Type.Optional(
    Type.String({
      pattern: '^([0-9.eE+-]+:[0-9]+,)*[0-9.eE+-]+$',
      default: '1',
      description:
        'piecewise_constant only: "multiplier:until_step,...,last_multiplier" (diffusers\' step_rules). "1:100,0.1:200,0.01" runs at 1x before step 100, 0.1x before step 200, then 0.01x.',
    }),
  ),
  min_lr_ratio: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.1,
      description:
        "cosine_with_min_lr, warmup_stable_decay, rex and cosine_with_restarts_decay: the floor of the decay as a fraction of the base LR (sd-scripts' lr_scheduler_min_lr_ratio). 0 decays to nothing.",
    }),
  ),
  decay_steps: stepsOrRatio(
    "warmup_stable_decay only: the length of the final decay, a step count or a ratio of the run (sd-scripts' lr_decay_steps). 10-20% of the run is the WSD paper's advice.",
    0.2,
  ),
  decay_type: Type.Optional(
    Type.Enum(['linear', 'cosine', '1-sqrt'], {
      default: 'cosine',
      description: 'warmup_stable_decay only: the shape of the final decay. 1-sqrt drops fastest at the very end.',
    }),
  ),
  timescale: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      default: null,
      description:
        'inverse_sqrt only: after warmup the multiplier is 1/sqrt((step + timescale - warmup) / timescale): 1 when warmup ends, 1/sqrt(2) timescale steps later. Unset (null) means the warmup steps, or 10000 without warmup (transformers\' default).',
    }),
  ),
  gamma: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.9,
      description: 'cosine_with_restarts_decay only: each cycle\'s peak is gamma times the previous one. 1 keeps every peak at the base LR.',
    }),
  ),
})
