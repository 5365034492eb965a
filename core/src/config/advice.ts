// Advice on configs that are valid but probably not what the user meant:
// the community's known pitfalls, as warnings that name the field. A warning
// never stops a run; the cell shows it beside the editor.
import type { ConfigIssue } from './validate.ts'
import type { TrainConfig } from './schema.ts'
import { drawsRegImages } from './sections/data.ts'
import { READERS } from './sections/method.ts'
import { OPTIMIZERS } from './sections/optimizer.ts'

interface Rule {
  path: string
  applies: (c: TrainConfig) => boolean
  message: (c: TrainConfig) => string
}

const unetLr = (c: TrainConfig) => c.method.unet_lr ?? c.optimizer.lr
// The methods whose LyCORIS modules can limit their update's norm (trainer/methods: Adapter.check_max_norm).
const NORMED: TrainConfig['method']['name'][] = ['lora', 'locon', 'loha', 'lokr', 'oft', 'boft', 'dora']
const estimatesD = (c: TrainConfig) => c.optimizer.name === 'prodigy' || c.optimizer.name === 'dadapt_adam'

const RULES: Rule[] = [
  {
    path: 'optimizer.lr',
    applies: (c) => estimatesD(c) && c.optimizer.lr < 0.1,
    message: (c) =>
      `${OPTIMIZERS[c.optimizer.name].label} estimates the step size itself and multiplies it by lr; lr ${c.optimizer.lr} makes it ${Math.round(1 / c.optimizer.lr)}x slower than intended. Use lr 1.0 and scale with d_coef instead.`,
  },
  {
    path: 'optimizer.lr',
    applies: (c) => c.method.name === 'ia3' && unetLr(c) < 2e-3,
    message: (c) =>
      `(IA)^3 scales activations instead of adding a low-rank update, and the community guide says it needs 8-10x the usual LoRA learning rate; ${unetLr(c)} is a LoRA-sized rate and will likely learn very little. Try 1e-2 to 3e-2 (the (IA)^3 lesson measures it: 10x worked, 33x burned).`,
  },
  {
    path: 'scheduler.name',
    applies: (c) => c.scheduler.name === 'cosine_with_restarts' && c.scheduler.num_cycles > 1,
    message: (c) =>
      `cosine_with_restarts jumps the LR from nearly 0 back to the full ${c.optimizer.lr} in one step at each of its ${c.scheduler.num_cycles - 1} restarts; the community guide warns this can "fry" a LoRA (watch for a loss spike after each restart). Lower the LR, or use cosine_with_restarts_decay, whose peaks shrink.`,
  },
  {
    path: 'data.prior_loss_weight',
    applies: (c) => c.data.prior_loss_weight !== 1 && !c.data.reg_path && !drawsRegImages(c.data),
    message: () => 'prior_loss_weight weighs regularization images, and this run has none: set data.reg_path (or, in the shapes world, data.reg_images).',
  },
  {
    path: 'data.reg_images',
    applies: (c) => c.data.reg_images > 0 && c.data.source !== 'shapes',
    message: (c) => `reg_images draws base shapes for data.source shapes; with source ${c.data.source} the run will refuse it. Put your regularization images in a folder and set data.reg_path.`,
  },
  {
    path: 'data.flip_aug',
    applies: (c) => c.data.flip_aug && c.data.source === 'shapes',
    message: () => 'The shapes world\'s captions say where a shape is ("at the top left"); a mirrored image puts it on the other side of what its caption says, so the model learns left and right wrongly.',
  },
  {
    path: 'training.scale_weight_norms',
    applies: (c) => c.training.scale_weight_norms !== null && !NORMED.includes(c.method.name),
    message: (c) => `${c.method.name} has no low-rank update whose norm could be limited; the run will refuse scale_weight_norms (${NORMED.join(', ')} have one).`,
  },
  ...(Object.keys(READERS) as (keyof typeof READERS)[]).map((field) => ({
    path: `method.${field}`,
    applies: (c: TrainConfig) => Boolean(c.method[field]) && !READERS[field].includes(c.method.name),
    message: (c: TrainConfig) => `${c.method.name} does not apply ${field}; the run will refuse it (${READERS[field].join(', ')} do).`,
  })),
  {
    path: 'training.mixed_precision',
    applies: (c) => c.training.mixed_precision === 'fp16' && c.method.name === 'full',
    message: () => 'Full fine-tuning in fp16 often overflows to NaN; bf16 keeps float32\'s range at the same memory cost.',
  },
]

export function advise(config: TrainConfig): ConfigIssue[] {
  return RULES.filter((rule) => rule.applies(config)).map((rule) => ({ path: rule.path, message: rule.message(config) }))
}
