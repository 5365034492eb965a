import Type from 'typebox'

export const ModelSection = Type.String({
  minLength: 1,
  default: 'shapes-xl',
  description:
    'Base model to fine-tune: the name of a folder under models/ (shapes-xl is the miniature SDXL that ships with tunebook) or a path to a diffusers model folder.',
})
