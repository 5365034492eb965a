// What each method of the registry saves for one layer: the tensors LyCORIS
// creates (trainable parameters) and the buffers it writes beside them (alpha,
// on_input), with their shapes. One row per method, read from LyCORIS 4.1.3's
// modules and the trainer's METHODS table (trainer/methods/__init__.py);
// test/core/size.test.ts holds every row to the counts of the real modules.
import type { MethodName, TrainConfig } from '../config/schema.ts'
import { factorization, popcount, power2factorization } from './factorization.ts'

export type MethodConfig = TrainConfig['method']

/** Which layers a method wraps (trainer/methods/targets.py); each set contains the ones before it. */
export const TARGET_SETS = ['attention', 'conv', 'full'] as const
export type TargetSet = (typeof TARGET_SETS)[number]

export interface Layer {
  /** The file's key prefix: lora_unet, lora_te1, lora_te2. */
  component: string
  /** attention, feed-forward, resnet, other (UNet) or text-encoder. */
  type: string
  /** The narrowest target set that wraps it. */
  targets: TargetSet
  op: 'linear' | 'conv' | 'norm'
  in: number
  out: number
  /** kernel height x width; 1 for linear layers and 1x1 convolutions. */
  kernel: number
  bias: boolean
  /** How many layers of the model have this shape, type and component. */
  count: number
  /** The summed length of their key names in the file, for the header estimate. */
  keyChars: number
}

export interface Tensor {
  /** The key's suffix after the layer's name, e.g. lora_down.weight. */
  name: string
  shape: number[]
  /** false for buffers that are saved but not trained (alpha, on_input). */
  trainable: boolean
}

interface MethodSize {
  targets: TargetSet
  /** The tensors saved for one layer; `dim` is LyCORIS's lora_dim for it. */
  tensors(layer: Layer, dim: number, method: MethodConfig): Tensor[]
  /** The trainer's block size when method.block_size is null. */
  blockSize?: number
  /** LyCORIS's lora_dim: the rank, or (OFT, BOFT) the block size. */
  dim?: 'block_size'
  /** false where the size does not depend on method.rank. */
  usesRank?: false
  /** Why the trainer refuses this config for these layer widths (trainer/methods/block_sizes.py), or undefined. */
  refuse?(method: MethodConfig, widths: number[]): string | undefined
}

const param = (name: string, ...shape: number[]): Tensor => ({ name, shape, trainable: true })
const buffer = (name: string, ...shape: number[]): Tensor => ({ name, shape, trainable: false })
const side = (layer: Layer) => Math.round(Math.sqrt(layer.kernel))
/** The trailing 1s that make a per-output vector broadcast over a weight: [1] for linear, [1, 1, 1] for conv. */
const ones = (layer: Layer) => (layer.op === 'conv' ? [1, 1, 1] : [1])
const kernelDims = (layer: Layer) => (layer.op === 'conv' ? [side(layer), side(layer)] : [])

const lora = (layer: Layer, dim: number): Tensor[] => [
  param('lora_down.weight', dim, layer.in, ...kernelDims(layer)),
  param('lora_up.weight', layer.out, dim, ...(layer.op === 'conv' ? [1, 1] : [])),
  buffer('alpha'),
]

const rescale = (layer: Layer, method: MethodConfig) => (method.rescaled ? [param('rescale', layer.out, ...ones(layer))] : [])

function lokr(layer: Layer, dim: number, method: MethodConfig): Tensor[] {
  const [outSmall, outLarge] = factorization(layer.out, method.factor)
  const [inSmall, inLarge] = factorization(layer.in, method.factor)
  // The small factor is a full matrix unless decompose_both asks, and the rank is below half its side.
  const w1 =
    method.decompose_both && dim < Math.max(outSmall, inSmall) / 2
      ? [param('lokr_w1_a', outSmall, dim), param('lokr_w1_b', dim, inSmall)]
      : [param('lokr_w1', outSmall, inSmall)]
  // The large factor is low-rank unless the rank is at least half its side; then LyCORIS keeps it full.
  const w2 =
    dim < Math.max(outLarge, inLarge) / 2
      ? [param('lokr_w2_a', outLarge, dim), param('lokr_w2_b', dim, inLarge * layer.kernel)]
      : [param('lokr_w2', outLarge, inLarge, ...kernelDims(layer))]
  return [...w1, ...w2, buffer('alpha')]
}

function refuseOft(method: MethodConfig, widths: number[]) {
  const size = method.block_size!
  const bad = widths.find((w) => factorization(w, size)[0] !== size)
  return bad === undefined
    ? undefined
    : `${size} cannot split layer width ${bad} into equal blocks of ${size} (LyCORIS would use blocks of ${factorization(bad, size)[0]}); choose a divisor of every targeted width (${widths.join(', ')}) no larger than width/block_size`
}

function refuseBoft(method: MethodConfig, widths: number[]) {
  const size = method.block_size!
  const bad = widths.find((w) => power2factorization(w, size) === undefined)
  return bad === undefined ? undefined : `${size} cannot factor layer width ${bad} for BOFT, which needs an even block size b <= ${size} with ${bad}/b a power of two; raise block_size`
}

export const METHOD_SIZES = {
  lora: { targets: 'attention', tensors: lora },
  locon: { targets: 'conv', tensors: lora },
  loha: {
    targets: 'conv',
    tensors: (layer, dim) => [
      param('hada_w1_a', layer.out, dim),
      param('hada_w1_b', dim, layer.in * layer.kernel),
      param('hada_w2_a', layer.out, dim),
      param('hada_w2_b', dim, layer.in * layer.kernel),
      buffer('alpha'),
    ],
  },
  lokr: { targets: 'conv', tensors: lokr },
  dylora: {
    targets: 'attention',
    tensors: lora,
    blockSize: 4,
    refuse: (method) => (method.rank % method.block_size! ? `${method.block_size} does not divide method.rank ${method.rank}; DyLoRA trains the rank in blocks of this size` : undefined),
  },
  ia3: { targets: 'attention', usesRank: false, tensors: (layer) => [param('weight', ...(layer.op === 'conv' ? [1, layer.out, 1, 1] : [layer.out])), buffer('on_input')] },
  oft: {
    targets: 'attention',
    usesRank: false,
    dim: 'block_size',
    blockSize: 4,
    refuse: refuseOft,
    tensors: (layer, dim, method) => {
      const [size, blocks] = factorization(layer.out, dim)
      return [param('oft_blocks', blocks, size, size), buffer('alpha'), ...rescale(layer, method)]
    },
  },
  boft: {
    targets: 'attention',
    usesRank: false,
    dim: 'block_size',
    blockSize: 16,
    refuse: refuseBoft,
    tensors: (layer, dim, method) => {
      const [size, blocks] = power2factorization(layer.out, dim)!
      return [param('oft_blocks', popcount(blocks - 1) + 1, blocks, size, size), buffer('alpha'), ...rescale(layer, method)]
    },
  },
  dora: { targets: 'attention', tensors: (layer, dim) => [...lora(layer, dim), param('dora_scale', layer.out, ...ones(layer))] },
  glora: {
    targets: 'attention',
    tensors: (layer, dim) => [param('a1.weight', layer.in, dim), param('a2.weight', dim, layer.in), param('b1.weight', layer.out, dim), param('b2.weight', dim, layer.in), buffer('alpha')],
  },
  full: {
    targets: 'full',
    usesRank: false,
    tensors: (layer) =>
      layer.op === 'norm'
        ? [param('w_norm', layer.out), ...(layer.bias ? [param('b_norm', layer.out)] : [])]
        : [param('diff', layer.out, layer.in, ...kernelDims(layer)), ...(layer.bias ? [param('diff_b', layer.out)] : [])],
  },
} as const satisfies Record<MethodName, MethodSize>

/** The block size the trainer uses: method.block_size, else the method's default. */
export const blockSizeOf = (method: MethodConfig) => method.block_size ?? (METHOD_SIZES[method.name] as MethodSize).blockSize ?? null

/** LyCORIS's lora_dim for a layer: conv_rank for kernels larger than 1x1, else the rank (or OFT's block size). */
export function dimOf(layer: Layer, method: MethodConfig): number {
  const row: MethodSize = METHOD_SIZES[method.name]
  if (row.dim === 'block_size') return method.block_size!
  return layer.op === 'conv' && layer.kernel > 1 ? method.conv_rank : method.rank
}

export const sizeRow = (name: MethodName): MethodSize => METHOD_SIZES[name]
