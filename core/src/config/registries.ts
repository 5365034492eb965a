// The one list of names per axis. The config schema's enums, the editor's
// completion and the trainer's registries (trainer/registry.py) are all keyed
// by exactly these names; test/trainer/test_registries.py fails when they differ.

export interface RegistryEntry {
  /** Human label shown in the UI. */
  label: string
  /** One line that teaches what it is. */
  summary: string
}

export const METHODS = {
  lora: {
    label: 'LoRA',
    summary:
      'Low-rank adaptation: each targeted weight W gets a trainable update B·A of rank r, scaled by alpha/r. The most used method.',
  },
} as const satisfies Record<string, RegistryEntry>

export const OPTIMIZERS = {
  adamw: {
    label: 'AdamW',
    summary:
      'Adam with decoupled weight decay (torch.optim.AdamW): a per-parameter step size from running averages of the gradient and its square.',
  },
} as const satisfies Record<string, RegistryEntry>

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

export type MethodName = keyof typeof METHODS
export type OptimizerName = keyof typeof OPTIMIZERS
export type SchedulerName = keyof typeof SCHEDULERS

export const names = <T extends object>(registry: T) => Object.keys(registry) as (keyof T & string)[]
