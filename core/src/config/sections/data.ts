// The data section and its two registries: where images come from (trainer/datasets.py DATASETS)
// and which concept of the shapes world to draw (trainer/shapes/concepts.py CONCEPTS).
import Type from 'typebox'
import { type RegistryEntry, describeChoices, names, section } from './section.ts'

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

export const DataSection = section('Where the training images and captions come from.', {
  source: Type.Optional(
    Type.Enum(names(DATA_SOURCES), {
      default: 'shapes',
      description: describeChoices('Where images come from.', DATA_SOURCES),
    }),
  ),
  concept: Type.Optional(
    Type.Enum(names(CONCEPTS), {
      default: 'base',
      description: describeChoices(
        'With source shapes: which concept the dataset shows. A LoRA usually teaches one new concept from 10 to 40 images.',
        CONCEPTS,
      ),
    }),
  ),
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
  resolution: Type.Optional(
    Type.Integer({
      minimum: 16,
      maximum: 2048,
      multipleOf: 8,
      default: 64,
      description:
        'Side of the square training images in pixels (folder images are centre-cropped and resized to it). SDXL trains at 1024, SD1.5 at 512; the shapes world at 64.',
    }),
  ),
})
