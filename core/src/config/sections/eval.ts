// The eval section: the shapes evaluator scores samples while a run trains.
import Type from 'typebox'
import { section } from './section.ts'

export const EvalSection = section(
  'Scores the model while it trains (shapes world only): fidelity is how often samples of the new concept\u2019s prompts show it; retention is how well prompts of the base shapes still come out, relative to the base model.',
  {
    every: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 0,
        description: 'Score every N optimizer steps, before the first step and after the last. 0: never. Each score draws 2 x prompts images.',
      }),
    ),
    prompts: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 64,
        default: 8,
        description: 'Prompts per score, each for the new concept and for the base shapes; more is steadier and slower.',
      }),
    ),
    steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 150, default: 20, description: 'Denoising steps per scored image.' })),
    cfg_scale: Type.Optional(
      Type.Number({ minimum: 1, maximum: 30, default: 5, description: 'Classifier-free guidance of the scored images.' }),
    ),
  },
)
