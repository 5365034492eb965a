// The sample section: images drawn during a run, like sd-scripts' sample prompts.
// trainer/sampling.py SAMPLERS is keyed by exactly these sampler names.
import Type from 'typebox'
import { type RegistryEntry, choice, section } from './section.ts'

export const SAMPLERS = {
  euler: { label: 'Euler', summary: 'SDXL\u2019s default sampler; simple and predictable.' },
  dpmpp_2m: { label: 'DPM++ 2M', summary: 'DPM-Solver++ (2M): sharp results in fewer steps.' },
} satisfies Record<string, RegistryEntry>

const SamplePrompt = Type.Object(
  {
    prompt: Type.String({ minLength: 1, description: 'What to draw.' }),
    negative_prompt: Type.Optional(
      Type.String({ default: '', description: 'What to steer away from. Empty: the unconditional (blank) prompt.' }),
    ),
    seed: Type.Optional(
      Type.Integer({ minimum: 0, default: 0, description: 'Starting noise: the same seed at every step shows how one image changes as training goes.' }),
    ),
  },
  { additionalProperties: false },
)

export const SampleSection = section('Images drawn from the model while it trains, saved in the run folder and shown beside the charts.', {
  every: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Draw the prompts every N optimizer steps, before the first step and after the last. 0: never.',
    }),
  ),
  prompts: Type.Optional(
    Type.Array(SamplePrompt, {
      default: [],
      maxItems: 16,
      description: 'The sample prompts (sd-scripts\u2019 --sample_prompts): prompt, negative_prompt, seed.',
    }),
  ),
  steps: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 150, default: 20, description: 'Denoising steps per image: more is slower and smoother; 20 to 30 is typical.' }),
  ),
  cfg_scale: Type.Optional(
    Type.Number({
      minimum: 1,
      maximum: 30,
      default: 5,
      description: 'Classifier-free guidance: how strongly the image follows the prompt (1: not at all beyond the model\u2019s own guess). SDXL uses 5 to 8.',
    }),
  ),
  sampler: choice(SAMPLERS, 'euler', 'The diffusers scheduler that draws.'),
})
