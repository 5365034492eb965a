import Type from 'typebox'
import { section } from './section.ts'

export const DataSection = section('Where the training images and captions come from.', {
  generator: Type.Optional(
    Type.Enum(['shapes'], {
      default: 'shapes',
      description: 'Procedural dataset: small captioned images of shapes, drawn deterministically from a seed.',
    }),
  ),
  images: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 4096,
      default: 16,
      description: 'How many images the dataset holds. Typical LoRA datasets have 10 to 40 images of one concept.',
    }),
  ),
  seed: Type.Optional(
    Type.Integer({ minimum: 0, default: 0, description: 'Seed of the image generator: the same seed draws the same dataset.' }),
  ),
  resolution: Type.Optional(
    Type.Integer({
      minimum: 16,
      maximum: 2048,
      multipleOf: 8,
      default: 64,
      description:
        'Side of the square training images in pixels. SDXL trains at 1024, SD1.5 at 512; the shapes world at 64.',
    }),
  ),
})
