// The optimizer section and the registry of optimizer names: one row per choice.
// trainer/optimizers.py is keyed by exactly these names (test/trainer/test_registries.py).
import Type from 'typebox'
import { describeChoices, names, section, type RegistryEntry } from './section.ts'

export const OPTIMIZERS = {
  adamw: {
    label: 'AdamW',
    summary:
      'Adam with decoupled weight decay (torch.optim.AdamW): a per-parameter step size from running averages of the gradient and its square.',
  },
} as const satisfies Record<string, RegistryEntry>

export type OptimizerName = keyof typeof OPTIMIZERS

export const OptimizerSection = section('How gradients turn into weight updates.', {
  name: Type.Optional(
    Type.Enum(names(OPTIMIZERS), {
      default: 'adamw',
      description: describeChoices('Optimizer.', OPTIMIZERS),
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
