// The method section and the registry of method names: one row per choice.
// trainer/methods/__init__.py is keyed by exactly these names (test/trainer/test_registries.py).
// Every method is a LyCORIS algorithm; each field says which methods read it.
import Type from 'typebox'
import { type RegistryEntry, choice, nullable, section } from './section.ts'

export const METHODS = {
  lora: {
    label: 'LoRA',
    summary:
      'Low-rank adaptation: each attention and feed-forward weight W gets a trainable update B·A of rank r, scaled by alpha/r. The most used method; at high rank SDXL files get needlessly large.',
  },
  locon: {
    label: 'LoCon',
    summary:
      'LoRA extended to the convolutions of the ResNet blocks and the down/upsamplers (conv_rank, conv_alpha); the start of LyCORIS. Often slower to train, hit-or-miss depending on the subject.',
  },
  loha: {
    label: 'LoHa',
    summary:
      'Hadamard product of two low-rank pairs, (B1·A1) ⊙ (B2·A2): up to rank² expressiveness for twice the parameters of LoRA. Finicky about LR and rank; good for simpler characters.',
  },
  lokr: {
    label: 'LoKr',
    summary:
      'Kronecker product of a small matrix and a low-rank one (factor, decompose_both): very few parameters for a full-rank update. Finicky about LR; small files.',
  },
  dylora: {
    label: 'DyLoRA',
    summary:
      'LoRA trained at random truncated ranks (block_size), so every prefix of its rank is a working LoRA and the rank can be picked after training. Slow to train, strong dampening.',
  },
  ia3: {
    label: '(IA)³',
    summary:
      'A learned scale per output channel of each targeted layer: tiny files (about 1 MB for SDXL). Needs 8–10x the usual LR, is less flexible and does not carry across base models.',
  },
  oft: {
    label: 'OFT',
    summary:
      'Orthogonal fine-tuning (LyCORIS diag-oft): rotates each weight by block-diagonal orthogonal matrices (block_size, constraint, rescaled). Keeps the angles between neurons, so it keeps the model\u2019s knowledge and in theory does not "burn"; may learn new concepts less readily.',
  },
  boft: {
    label: 'BOFT',
    summary:
      'Butterfly OFT: the rotation is a product of sparse butterfly factors, so it can be dense across the whole width from few parameters (block_size, constraint, rescaled).',
  },
  dora: {
    label: 'DoRA',
    summary:
      'Weight-decomposed LoRA (LyCORIS dora_wd): trains each weight\u2019s magnitude per output directly and its direction with a LoRA, closer to how full fine-tuning moves weights.',
  },
  glora: {
    label: 'GLoRA',
    summary:
      'Generalised LoRA: low-rank scale and shift of both the weight and the layer input, one adapter family that contains LoRA and (IA)³.',
  },
  full: {
    label: 'Full fine-tune',
    summary:
      'Every weight of the UNet (and of the text encoders, if trained) is trained; the file holds each weight\u2019s difference from the base (LyCORIS "full"), as large as the model. The reference the adapters approximate.',
  },
} as const satisfies Record<string, RegistryEntry>

export type MethodName = keyof typeof METHODS

/** The fields only some methods read, and those methods, as tunebook runs them (LyCORIS 4.1.3, bypass where the
 * method allows): the dropouts, and LoRA+ where there is an up matrix. The trainer refuses a field for the other
 * methods and the editor warns; test/trainer/test_methods.py measures each list. */
export const READERS: Record<'dropout' | 'rank_dropout' | 'module_dropout' | 'loraplus_lr_ratio', readonly MethodName[]> = {
  dropout: ['lora', 'locon', 'loha', 'lokr', 'glora'],
  rank_dropout: ['lora', 'locon', 'loha', 'oft', 'dora', 'glora', 'full'],
  module_dropout: Object.keys(METHODS) as MethodName[],
  loraplus_lr_ratio: ['lora', 'locon', 'dora'],
}

const probability = (field: 'dropout' | 'rank_dropout' | 'module_dropout', description: string) =>
  Type.Optional(
    Type.Number({
      minimum: 0,
      exclusiveMaximum: 1,
      default: 0,
      description: `${description} Only while training: samples, scores and the saved file use the whole adapter. 0 turns it off. Used by ${READERS[field].join(', ')}.`,
      'x-methods': READERS[field],
    }),
  )

export const MethodSection = section('The adapter that is trained on top of the frozen base model.', {
  name: choice(METHODS, 'lora', 'Fine-tuning method.'),
  rank: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 8,
      description:
        'Rank r (network_dim in kohya) of the linear layers: the width of the low-rank update. Higher rank can learn more but makes larger files; 4 to 32 is typical for SDXL. Used by lora, locon, loha, lokr, dylora, dora, glora.',
    }),
  ),
  alpha: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      default: 8,
      description:
        'Alpha (network_alpha): the update is scaled by alpha/rank. alpha = rank means scale 1; a smaller alpha damps the update, so it needs a higher learning rate (alpha 1 with rank 16 is a common kohya choice). Used by lora, locon, loha, lokr, dylora, dora, glora.',
    }),
  ),
  conv_rank: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 4,
      description:
        'Rank of the 3x3 convolutions (conv_dim in kohya and LyCORIS). LyCORIS advises keeping it small, 4 to 16, at most 64: convolutions hold texture and style, and a large conv rank overfits fast. Used by locon, loha, lokr.',
    }),
  ),
  conv_alpha: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      default: 4,
      description: 'Alpha of the 3x3 convolutions (conv_alpha): their update is scaled by conv_alpha/conv_rank. 1 to conv_rank is typical. Used by locon, loha, lokr.',
    }),
  ),
  factor: Type.Optional(
    Type.Integer({
      minimum: -1,
      default: -1,
      description:
        'LoKr\u2019s Kronecker factor: each weight is split as (a x b) ⊗ (c x d) with the small side near this size. -1 picks the most balanced split (smallest file); 4 to 16 gives a larger, more expressive update. Used by lokr.',
    }),
  ),
  decompose_both: Type.Optional(
    Type.Boolean({
      default: false,
      description: 'LoKr: decompose the small Kronecker factor into a low-rank pair too, not only the large one. Fewer parameters, less capacity. Used by lokr.',
    }),
  ),
  block_size: nullable(
    Type.Integer({ minimum: 1, maximum: 4096 }),
    'Block size. OFT: each layer\u2019s outputs are rotated in blocks of this size; it must divide every targeted width into equal blocks (default 4; 4 to 32 on SDXL, larger rotates more at once). BOFT: the largest butterfly block (default 16); each width needs an even block b up to this size with width/b a power of two. DyLoRA: the rank grows in blocks of this size and must divide rank (default 4). null takes the method\u2019s default. Used by dylora, oft, boft.',
  ),
  constraint: Type.Optional(
    Type.Number({
      minimum: 0,
      default: 0,
      description:
        'OFT/BOFT: caps how far the rotation may move from the identity (COFT; LyCORIS scales it by the layer width). 0 means no cap. A small cap, e.g. 1e-4 to 1e-3, keeps the model closer to its base. Used by oft, boft.',
    }),
  ),
  rescaled: Type.Optional(
    Type.Boolean({
      default: false,
      description: 'OFT/BOFT: also learn a scale per output channel after the rotation, so magnitudes can change, not only directions. Used by oft, boft.',
    }),
  ),
  dropout: probability(
    'dropout',
    'Neuron dropout (network_dropout in sd-scripts): at each step every output of the adapter is zeroed with this probability and the rest scaled up, so the concept cannot hang on a few features. 0.1 is a common choice.',
  ),
  rank_dropout: probability(
    'rank_dropout',
    'Rank dropout (rank_dropout in network_args): at each step every rank of the low-rank update (LoRA, LoCon, GLoRA), or every output row of the update (LoHa, DoRA, OFT, full), is dropped with this probability. kohya_ss presets use 0.1 to 0.3.',
  ),
  rank_dropout_scale: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'With rank_dropout: while training, scale the update by 1/(1 - rank_dropout), as sd-scripts\u2019 networks.lora always does, so on average training sees the update at the size sampling uses. Off, sampling applies more than any training step did (lesson 41 measures what that costs). LyCORIS\u2019s option of this name divides by the share of ranks actually kept instead, which is NaN when a layer drops them all; tunebook scales by the expected share.',
    }),
  ),
  module_dropout: probability(
    'module_dropout',
    'Module dropout (module_dropout in network_args): at each step every adapted layer skips its adapter altogether with this probability, so no single layer carries the concept. 0.1 or less.',
  ),
  loraplus_lr_ratio: nullable(
    Type.Number({ exclusiveMinimum: 0, maximum: 1000 }),
    `LoRA+ (loraplus_lr_ratio in sd-scripts; Hayou et al. 2024): the up matrix B of each update trains at this many times the LR of its down matrix A. The paper finds B should learn faster than A and suggests 16; sd-scripts users start at 4 to 16 and often lower the LR with it. null: one LR for both. Used by ${READERS.loraplus_lr_ratio.join(', ')}.`,
    { 'x-methods': READERS.loraplus_lr_ratio },
  ),
  train_text_encoder: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'Also train both text encoders with the same method (keys lora_te1_ and lora_te2_), as kohya does unless told --network_train_unet_only. Helps a new word bind to a concept, but overfits faster; for SDXL the community usually trains the UNet only. Prompts are then encoded every step instead of once.',
    }),
  ),
  embedding_words: Type.Optional(
    Type.Array(Type.String({ minLength: 1, pattern: '^\\S+$' }), {
      default: [],
      maxItems: 8,
      description:
        'Pivotal tuning: caption words whose input embedding (the vector the word\u2019s token enters each text encoder with, what textual inversion trains) trains beside the adapter, e.g. [star]. The concept gets conditioning of its own instead of sharing its neighbours\u2019, and since no other text-encoder weight changes, a prompt without the word is encoded exactly as before. Each must be one word of one token that some caption holds. Prompts are then encoded every step. The adapter file carries the vectors as bundled embeddings (bundle_emb.<word>), which AUTOMATIC1111 and Forge load with the LoRA; ComfyUI and sd-scripts\u2019 LoRA loaders skip them, so each word is also saved as an embedding file of its own (embeddings/<word>.safetensors in the run folder, offered beside the adapter), which ComfyUI loads from its embeddings folder as embedding:<word>. Used by every method.',
    }),
  ),
  embedding_lr: nullable(
    Type.Number({ exclusiveMinimum: 0, maximum: 10 }),
    'Learning rate of the embedding_words\u2019 vectors. Textual inversion alone trains them at about 5e-3 with AdamW; the welcome lesson trains "star" at the LoRA\u2019s own 0.01. null uses optimizer.lr.',
  ),
  start_from: nullable(
    Type.String({ minLength: 1 }),
    'Start from a trained adapter instead of from zero (network_weights in sd-scripts): a run id (its runs/<id>/adapter.safetensors) or a path to a kohya-format .safetensors of this method, e.g. to train an earlier LoRA further on new images. Its shapes must match rank, alpha and the method\u2019s other settings; layers it lacks start from zero, and tensors this method has no place for (sd-scripts\u2019 LoRA also wraps proj_in/proj_out) are left out; the finished run says how many. Unlike training.resume, the optimizer and schedule start fresh. null: from zero.',
  ),
  unet_lr: nullable(
    Type.Number({ exclusiveMinimum: 0, maximum: 10 }),
    'Learning rate of the UNet\u2019s adapter (unet_lr in sd-scripts). null uses optimizer.lr. Used by every method.',
  ),
  text_encoder_lr: nullable(
    Type.Number({ exclusiveMinimum: 0, maximum: 10 }),
    'Learning rate of the text encoders\u2019 adapter (text_encoder_lr in sd-scripts); only with train_text_encoder. Usually lower than the UNet\u2019s, e.g. a half or a tenth. null uses optimizer.lr. Used by every method.',
  ),
})
