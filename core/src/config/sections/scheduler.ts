// The scheduler section and the registry of scheduler names: one row per choice.
// trainer/schedulers.py is keyed by exactly these names (test/trainer/test_registries.py).
import Type from 'typebox'
import { describeChoices, names, section, type RegistryEntry } from './section.ts'

export const SCHEDULERS = {
  constant: {
    label: 'constant',
    summary: 'The learning rate stays at its base value for the whole run (multiplier 1).',
  },
  cosine: {
    label: 'cosine',
    summary:
      'After warmup the multiplier falls from 1 to 0 along half a cosine: fast learning early, fine detail late, but half the run is spent below 0.5x.',
  },
} as const satisfies Record<string, RegistryEntry>

export type SchedulerName = keyof typeof SCHEDULERS

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
