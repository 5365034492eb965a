// The data section and its two registries: where images come from (trainer/datasets.py DATASETS)
// and which concept of the shapes world to draw (trainer/shapes/concepts.py CONCEPTS).
import Type from 'typebox'
import { type RegistryEntry, choice, section } from './section.ts'

export const DATA_SOURCES = {
  shapes: {
    label: 'Shapes world',
    summary: 'Small captioned images of shapes drawn from a seed; data.concept picks what they show.',
  },
  folder: {
    label: 'Image folder',
    summary:
      'Your own images in kohya sd-scripts\u2019 layout: data.path holds folders named <repeats>_<name> (e.g. 10_star), each with image files and a caption file of the same name (.txt or .caption).',
  },
} satisfies Record<string, RegistryEntry>

export const CONCEPTS = {
  base: {
    label: 'Base shapes',
    summary: 'What shapes-xl already knows: circles, squares, triangles, diamonds, hexagons, filled or outlined.',
  },
  star: {
    label: 'Star (new object)',
    summary: 'A shape shapes-xl never saw in pretraining: teach it a new object.',
  },
  striped: {
    label: 'Striped (new style)',
    summary: 'A texture shapes-xl never saw in pretraining: teach it a new style on shapes it knows.',
  },
} satisfies Record<string, RegistryEntry>

/** Whether tunebook draws the regularization images itself: data.reg_images base shapes, in the shapes world only. */
export const drawsRegImages = (data: { source: string; reg_images: number }) => data.source === 'shapes' && data.reg_images > 0

export const DataSection = section('Where the training images and captions come from.', {
  source: choice(DATA_SOURCES, 'shapes', 'Where images come from.'),
  concept: choice(CONCEPTS, 'base', 'With source shapes: which concept the dataset shows. A LoRA usually teaches one new concept from 10 to 40 images.'),
  path: Type.Optional(
    Type.String({
      default: '',
      description:
        'With source folder: the dataset folder (absolute, or relative to where the trainer runs). It holds <repeats>_<name> folders; repeats is how many times each image is seen per epoch.',
    }),
  ),
  images: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 4096,
      default: 20,
      description: 'With source shapes: how many images to draw. Typical LoRA datasets have 10 to 40 images of one concept.',
    }),
  ),
  seed: Type.Optional(
    Type.Integer({ minimum: 0, default: 0, description: 'With source shapes: seed of the image generator; the same seed draws the same dataset.' }),
  ),
  draw: Type.Optional(
    Type.Enum(['random', 'even'], {
      default: 'random',
      description:
        'With source shapes: how each image\u2019s colour, size, position and background (and the base shapes\u2019 shape and texture) are picked, for the dataset and data.reg_images alike. random: each independently, so 20 images may hold eight red ones and no yellow, and the adapter learns that skew with its concept. even: each dealt from its own shuffled deck, so every value comes up as often as the count allows, as in a dataset curated to vary everything but its subject.',
    }),
  ),
  reg_path: Type.Optional(
    Type.String({
      default: '',
      description:
        'Regularization images (reg_data_dir in sd-scripts; "class images" in DreamBooth): a folder in the same <repeats>_<name> layout, with captions, of what the model should keep drawing as it did, e.g. generic people for a LoRA of one person. They are trained on beside the dataset, so the adapter learns what is new rather than rewriting the whole class. Each epoch sees as many of them as training images, repeating or leaving some out as sd-scripts does. Works with either source; empty: none.',
    }),
  ),
  reg_images: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 4096,
      default: 0,
      description:
        'With source shapes: how many images of the base shapes (what shapes-xl already knows) to draw as regularization images, the shapes world\u2019s data.reg_path. 0: none.',
    }),
  ),
  prior_loss_weight: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 10,
      default: 1,
      description:
        'With regularization images: their loss is multiplied by this (prior_loss_weight in sd-scripts). 1 weighs them like training images; lower lets the new concept pull harder, at the cost of what the regularization keeps.',
    }),
  ),
  resolution: Type.Optional(
    Type.Integer({
      minimum: 16,
      maximum: 2048,
      multipleOf: 8,
      default: 64,
      description:
        'Side of the square training images in pixels; with buckets, the side of the square whose area every bucket keeps. Folder images are resized to cover their bucket (or this square) and centre-cropped. SDXL trains at 1024, SD1.5 at 512; the shapes world at 64.',
    }),
  ),
  shuffle_caption: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'Shuffle the comma-separated tags of each caption every time it is seen (shuffle_caption in sd-scripts), so the model does not learn that the first tag matters most. Reproducible: the order depends only on training.seed and the batch number. A shuffled caption is new each step, so training.cache_text_encoder_outputs must be off.',
    }),
  ),
  keep_tokens: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 255,
      default: 0,
      description:
        'With shuffle_caption: how many leading tags stay in front, unshuffled (keep_tokens in sd-scripts). Put the trigger word first and keep it: 1 is typical.',
    }),
  ),
  caption_dropout: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0,
      description:
        'Probability that an image is trained with an empty caption at a step (caption_dropout_rate in sd-scripts): the model also learns the image unconditionally, which helps classifier-free guidance and keeps the concept from hiding in the words. 0.05 to 0.1 is typical; 0 turns it off.',
    }),
  ),
  caption_tag_dropout: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0,
      description:
        'Probability that each tag after the first keep_tokens is left out of a caption at a step (caption_tag_dropout_rate in sd-scripts), after shuffle_caption if that is on: every tag is sometimes missing, so none becomes the only way to ask for the concept. 0.1 or less; 0 turns it off. A thinned caption is new each step, so training.cache_text_encoder_outputs must be off.',
    }),
  ),
  flip_aug: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'Mirror each image left to right at random, half the time, at each step (flip_aug in sd-scripts): twice the views from the same images. Reproducible from training.seed and the batch; with cached latents both sides are encoded once. Leave it off when the concept has a handedness (text, a logo, a side parting) or the captions say left and right, as the shapes world’s do.',
    }),
  ),
  buckets: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'Aspect-ratio bucketing (enable_bucket in sd-scripts): instead of cropping every image to a square, each goes to the bucket (a width x height of about resolution\u00b2 pixels) nearest its aspect ratio, so wide and tall images keep their composition. Every batch holds one bucket. For 1024 these are SDXL\u2019s own training sizes: 1024x1024, 1152x896, 896x1152, 1216x832, ...',
    }),
  ),
  bucket_min_side: Type.Optional(
    Type.Integer({
      minimum: 8,
      maximum: 8192,
      multipleOf: 8,
      default: 256,
      description: 'With buckets: the shortest side a bucket may have, in pixels (min_bucket_reso in sd-scripts). At most resolution.',
    }),
  ),
  bucket_max_side: Type.Optional(
    Type.Integer({
      minimum: 8,
      maximum: 8192,
      multipleOf: 8,
      default: 2048,
      description: 'With buckets: the longest side a bucket may have, in pixels (max_bucket_reso in sd-scripts). At least resolution.',
    }),
  ),
  bucket_step: Type.Optional(
    Type.Integer({
      minimum: 8,
      maximum: 1024,
      multipleOf: 8,
      default: 64,
      description:
        'With buckets: bucket sides are multiples of this many pixels (bucket_reso_steps in sd-scripts). 64 gives SDXL\u2019s bucket set; smaller steps give more buckets that fit aspect ratios more closely, with fewer images each.',
    }),
  ),
})
