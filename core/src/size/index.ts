// Trainable parameters and adapter file size, computed from layer shapes with
// no weights: the layers each target set wraps in SDXL, SD1.5 and shapes-xl
// (layers.json, generated from the real model configs by trainer/golden_sizes.py)
// times what each method saves per layer (methods.ts).
//
// File size = tensor bytes + the safetensors header, which is JSON naming every
// tensor with its dtype, shape and offsets; the header is estimated from the
// real key lengths. The trainer's ss_* metadata (a few KB) is not counted.
// Words trained with the adapter (method.embedding_words) add one vector per
// text encoder each, saved as A1111's bundled embeddings.
import type { ConfigIssue } from '../config/validate.ts'
import data from './layers.json'
import { blockSizeOf, dimOf, sizeRow, TARGET_SETS, type Layer, type MethodConfig, type Tensor } from './methods.ts'

export { METHOD_SIZES, type Layer, type MethodConfig } from './methods.ts'

export const ARCHITECTURES = ['sdxl', 'sd15', 'shapes-xl'] as const
export type Architecture = (typeof ARCHITECTURES)[number]

/** Bytes per number of a saved file, and safetensors' dtype names. */
export const PRECISIONS = { fp16: { bytes: 2, dtype: 'F16' }, bf16: { bytes: 2, dtype: 'BF16' }, fp32: { bytes: 4, dtype: 'F32' } } as const
export type Precision = keyof typeof PRECISIONS

/** The breakdown's layer types, in display order. */
export const LAYER_TYPES = ['attention', 'feed-forward', 'resnet', 'other', 'text-encoder', 'embedding'] as const
export type LayerType = (typeof LAYER_TYPES)[number]
export const LAYER_TYPE_LABELS: Record<LayerType, string> = {
  attention: 'attention',
  'feed-forward': 'feed-forward',
  resnet: 'conv / resnet',
  other: 'other UNet layers',
  'text-encoder': 'text encoders',
  embedding: 'word embeddings',
}

export interface AdapterSize {
  architecture: Architecture
  label: string
  /** Trainable parameters: what the trainer reports as trainable_params. */
  params: number
  byType: Partial<Record<LayerType, number>>
  /** Tensors in the file and the numbers they hold (parameters plus buffers such as alpha). */
  tensors: number
  fileNumel: number
  tensorBytes: number
  headerBytes: number
  fileBytes: number
}

export type SizeResult = { ok: true; size: AdapterSize } | { ok: false; issue: ConfigIssue }

type Row = [string, LayerType, Layer['targets'], Layer['op'], number, number, number, number, number, number]
/** [name in the file, width]: the vector a trained word gets in each text encoder (clip_l and clip_g for SDXL). */
type WordVector = [string, number]
const ARCH_DATA = data.architectures as unknown as Record<Architecture, { label: string; layers: Row[]; word_vectors: WordVector[] }>

export const architectureLabel = (architecture: Architecture) => ARCH_DATA[architecture].label

export function layersOf(architecture: Architecture): Layer[] {
  return ARCH_DATA[architecture].layers.map(([component, type, targets, op, inFeatures, out, kernel, bias, count, keyChars]) => ({
    component,
    type,
    targets,
    op,
    in: inFeatures,
    out,
    kernel,
    bias: bias === 1,
    count,
    keyChars,
  }))
}

/** The layers a method wraps: its target set (and the smaller ones), text encoders only when they train. */
export function wrappedLayers(architecture: Architecture, method: MethodConfig): Layer[] {
  const reach = TARGET_SETS.indexOf(sizeRow(method.name).targets)
  return layersOf(architecture).filter((l) => TARGET_SETS.indexOf(l.targets) <= reach && (l.component === 'lora_unet' || method.train_text_encoder))
}

export function adapterSize(architecture: Architecture, input: MethodConfig, precision: Precision): SizeResult {
  const method = { ...input, block_size: blockSizeOf(input) }
  const row = sizeRow(method.name)
  const layers = wrappedLayers(architecture, method)
  const widths = [...new Set(layers.filter((l) => l.op !== 'norm').map((l) => l.out))].sort((a, b) => a - b)
  const refusal = row.refuse?.(method, widths)
  if (refusal) return { ok: false, issue: { path: 'method.block_size', message: `method.block_size: ${refusal} (${architectureLabel(architecture)})` } }

  const { bytes, dtype } = PRECISIONS[precision]
  const byType: AdapterSize['byType'] = {}
  let params = 0
  let tensors = 0
  let fileNumel = 0
  let header = 0
  for (const layer of layers) {
    const saved = row.tensors(layer, dimOf(layer, method), method)
    const layerParams = sum(saved.filter((t) => t.trainable).map(numel)) * layer.count
    byType[layer.type as LayerType] = (byType[layer.type as LayerType] ?? 0) + layerParams
    params += layerParams
    tensors += saved.length * layer.count
    for (let i = 0; i < layer.count; i++) {
      for (const tensor of saved) {
        const start = fileNumel * bytes
        fileNumel += numel(tensor)
        header += headerEntry(tensor, dtype, start, fileNumel * bytes)
      }
    }
    // Each tensor's key is the layer's name, a dot and the tensor's name.
    header += layer.keyChars * saved.length
  }
  for (const word of method.embedding_words) {
    for (const [name, width] of ARCH_DATA[architecture].word_vectors) {
      const start = fileNumel * bytes
      fileNumel += width
      header += `"bundle_emb.${word}.${name}":{"dtype":"${dtype}","shape":[1,${width}],"data_offsets":[${start},${fileNumel * bytes}]}`.length
      byType.embedding = (byType.embedding ?? 0) + width
      params += width
      tensors += 1
    }
  }
  // {"key":{...},...}: braces, one comma fewer than entries, an 8-byte length first, padded to 8 bytes.
  const headerBytes = 8 + Math.ceil((2 + Math.max(tensors - 1, 0) + header) / 8) * 8
  const tensorBytes = fileNumel * bytes
  const size = { architecture, label: architectureLabel(architecture), params, byType, tensors, fileNumel, tensorBytes, headerBytes, fileBytes: tensorBytes + headerBytes }
  return { ok: true, size }
}

/** One tensor's header entry without its layer name: "<layer>.<name>":{"dtype":"F16","shape":[..],"data_offsets":[a,b]} */
const headerEntry = (tensor: Tensor, dtype: string, start: number, end: number) =>
  `".${tensor.name}":{"dtype":"${dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${start},${end}]}`.length

const numel = (tensor: Tensor) => tensor.shape.reduce((a, b) => a * b, 1)
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

/** Ranks for the size-vs-rank line: the powers of two a learner meets, 1 to 256. */
export const RANKS = [1, 2, 4, 8, 16, 32, 64, 128, 256]

/** File size at each rank, the rest of the method unchanged; undefined for methods whose size has no rank (ia3, oft, boft, full). */
export function sizeByRank(architecture: Architecture, method: MethodConfig, precision: Precision): { rank: number; fileBytes: number; params: number }[] | undefined {
  if (!usesRank(method)) return undefined
  return RANKS.flatMap((rank) => {
    const result = adapterSize(architecture, { ...method, rank }, precision)
    return result.ok ? [{ rank, fileBytes: result.size.fileBytes, params: result.size.params }] : []
  })
}

/** Whether the rank changes the method's size. */
export const usesRank = (method: MethodConfig) => sizeRow(method.name).usesRank !== false
