// The method section and the registry of method names: one row per choice.
// trainer/methods.py is keyed by exactly these names (test/trainer/test_registries.py).
import Type from 'typebox'
import { describeChoices, names, section, type RegistryEntry } from './section.ts'

export const METHODS = {
  lora: {
    label: 'LoRA',
    summary:
      'Low-rank adaptation: each targeted weight W gets a trainable update B·A of rank r, scaled by alpha/r. The most used method.',
  },
} as const satisfies Record<string, RegistryEntry>

export type MethodName = keyof typeof METHODS

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
