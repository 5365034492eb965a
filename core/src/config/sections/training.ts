import Type from 'typebox'
import { section } from './section.ts'

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
