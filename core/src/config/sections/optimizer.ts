// The optimizer section and the registry of optimizer names: one row per choice.
// trainer/optimizers.py is keyed by exactly these names (test/trainer/test_registries.py).
import Type from 'typebox'
import { choice, section, type RegistryEntry } from './section.ts'

/** An optimizer row. `adaptive` ones choose their own step size: a schedule preview shows a multiplier, not the LR. */
export interface OptimizerEntry extends RegistryEntry {
  adaptive?: { note: string }
}

export const OPTIMIZERS = {
  adamw: {
    label: 'AdamW',
    summary:
      'Adam with decoupled weight decay (torch.optim.AdamW): a per-parameter step size from running averages of the gradient and its square. The default of most LoRA guides.',
  },
  adamw8bit: {
    label: 'AdamW8bit',
    summary:
      "bitsandbytes' AdamW with its two moment buffers stored in 8 bits: about a quarter of AdamW's optimizer memory for nearly the same updates. Tensors under 4096 values keep 32-bit state.",
  },
  lion: {
    label: 'Lion',
    summary:
      "Lion (pytorch-optimizer): steps by the sign of a momentum, so every weight moves by exactly lr. Use 3 to 10 times smaller lr and a larger weight_decay than AdamW's.",
  },
  lion8bit: {
    label: 'Lion8bit',
    summary:
      "bitsandbytes' Lion with its one momentum buffer stored in 8 bits: Lion already keeps half of AdamW's optimizer state, this keeps an eighth. Same lr advice as Lion.",
  },
  sgd_nesterov: {
    label: 'SGD (Nesterov)',
    summary:
      'Plain stochastic gradient descent with Nesterov momentum (torch.optim.SGD): one global step size, no per-weight scaling, so it needs a much larger lr than Adam and careful tuning.',
  },
  prodigy: {
    label: 'Prodigy',
    summary:
      'Prodigy (prodigyopt): Adam that estimates the step size d itself; the applied LR is d × lr, so leave lr at 1.0 and let d grow.',
    adaptive: { note: 'Prodigy multiplies lr by its own estimate d; the live chart shows d × lr.' },
  },
  adafactor: {
    label: 'Adafactor',
    summary:
      "Adafactor (transformers): factored second moments, so very little optimizer memory. With relative_step it picks its own step size (lr must stay unset), the way sd-scripts' full fine-tunes often run it.",
    adaptive: { note: 'With relative_step, Adafactor computes its own step size; the live chart shows it.' },
  },
  dadapt_adam: {
    label: 'D-Adapt Adam',
    summary:
      "D-Adaptation's Adam (dadaptation.DAdaptAdam): estimates the step size d from the distance travelled; the applied LR is d × lr, so lr stays near 1.0. Prodigy's predecessor.",
    adaptive: { note: 'D-Adaptation multiplies lr by its own estimate d; the live chart shows d × lr.' },
  },
  came: {
    label: 'CAME',
    summary:
      "CAME (came-pytorch): Adafactor's memory savings with a confidence-guided update that is as stable as Adam. Typical LoRA lr 1e-4 to 2e-4.",
  },
  schedulefree_adamw: {
    label: 'Schedule-free AdamW',
    summary:
      'Schedule-free AdamW (schedulefree): averages its iterates instead of decaying the LR, so no schedule is needed (the scheduler must be constant); it warms up inside the optimizer (optimizer.warmup_steps).',
    adaptive: { note: 'Schedule-free AdamW warms up inside the optimizer and needs no schedule; the curve is a multiplier on its LR.' },
  },
} as const satisfies Record<string, OptimizerEntry>

export type OptimizerName = keyof typeof OPTIMIZERS

export const OptimizerSection = section('How gradients turn into weight updates.', {
  name: choice(OPTIMIZERS, 'adamw', 'Optimizer.'),
  lr: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 10,
      default: 0.001,
      description:
        'Base learning rate: the size of each step before the scheduler multiplies it. LoRA on SDXL is usually trained at 1e-4 to 1e-3 with AdamW; Prodigy and D-Adapt Adam want 1.0 (they find the step size themselves); Adafactor with relative_step ignores it.',
    }),
  ),
  weight_decay: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.01,
      description:
        'Decoupled weight decay: pulls weights toward zero a little each step, a mild guard against overfitting. 0.01 is common; Lion wants 3 to 10 times more.',
    }),
  ),
  momentum: Type.Optional(
    Type.Number({
      minimum: 0,
      exclusiveMaximum: 1,
      default: 0.9,
      description: 'sgd_nesterov only: how much of the previous update carries into the next. 0.9 is the classic value.',
    }),
  ),
  d_coef: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      default: 1,
      description:
        "prodigy only: multiplies Prodigy's estimate d. Below 1 (e.g. 0.5) tames a LoRA that burns; 1 to 2 is the community's range.",
    }),
  ),
  use_bias_correction: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        "prodigy only: Adam's bias correction on the step size, smaller early steps. Many SDXL LoRA guides turn it on.",
    }),
  ),
  safeguard_warmup: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'prodigy only: keeps d from growing too fast while the LR scheduler warms up. Turn it on whenever scheduler.warmup_steps is not 0.',
    }),
  ),
  relative_step: Type.Optional(
    Type.Boolean({
      default: true,
      description:
        'adafactor only: Adafactor computes its own step size (1/sqrt(step), capped at 0.01) and ignores optimizer.lr; the scheduler must then be constant. Set false to use optimizer.lr and a schedule (sd-scripts users often do, with scale_parameter false).',
    }),
  ),
  scale_parameter: Type.Optional(
    Type.Boolean({
      default: true,
      description: "adafactor only: scales each step by the weights' root mean square, so larger weights take larger steps.",
    }),
  ),
  warmup_init: Type.Optional(
    Type.Boolean({
      default: false,
      description: 'adafactor only, with relative_step: the step size starts at 0 and grows by 1e-6 per step instead of starting at 0.01.',
    }),
  ),
  warmup_steps: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 0,
      description:
        "schedulefree_adamw only: optimizer steps over which schedule-free AdamW ramps its LR up, inside the optimizer (its schedule replaces the LR scheduler's warmup).",
    }),
  ),
  args: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description:
        "Extra keyword arguments for the optimizer's constructor, like sd-scripts' optimizer_args, e.g. {betas: [0.9, 0.99], eps: 1e-6}. A name the optimizer does not accept is an error.",
    }),
  ),
})
