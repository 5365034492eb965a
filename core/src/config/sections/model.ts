import Type from 'typebox'

export const ModelSection = Type.String({
  minLength: 1,
  default: 'shapes-xl',
  description:
    'Base model to fine-tune: the name of a folder under models/ (shapes-xl is the miniature SDXL that ships with tunebook) or a path to an SD1.5, SD2.x or SDXL model: a single .safetensors or .ckpt file as A1111, Forge and ComfyUI use them, or a diffusers model folder. The family is read from the file\u2019s keys or the folder (model_index.json and the UNet config) and decides the text encoders, the sampling pipeline and the adapter\u2019s kohya key names; v-prediction (SD2.x 768 models) comes from its scheduler config.',
})
