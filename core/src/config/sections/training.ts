// How long, in what chunks, at what precision, and with which of the
// diffusion-loss refinements a run trains. Names follow sd-scripts where it has one.
import Type from 'typebox'
import { nullable, section } from './section.ts'

export const TrainingSection = section('How long, in what chunks and how precisely to train.', {
  max_steps: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1000000,
      default: 40,
      description:
        'Optimizer steps to train for (max_train_steps in sd-scripts). Ignored when epochs is set. With gradient accumulation, one optimizer step is several batches.',
    }),
  ),
  epochs: nullable(
    Type.Integer({ minimum: 1, maximum: 100000 }),
    'Train for this many passes over the dataset instead of max_steps (max_train_epochs in sd-scripts). Steps per epoch = ceil(images × repeats ÷ batch_size) ÷ gradient_accumulation. Find where overfitting starts: LoRAs tend to "burn" when trained too long.',
  ),
  batch_size: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 256,
      default: 4,
      description:
        'Images per batch. Larger batches smooth the loss and use more memory. The community rule of thumb: 1 for under ~200 images, 2 for a few hundred, 3–4 or more above 1000.',
    }),
  ),
  gradient_accumulation: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 1,
      description:
        'Batches whose gradients are summed before one optimizer step (gradient_accumulation_steps): an effective batch of batch_size × this, at the memory cost of one batch. The LR schedule counts optimizer steps, not batches.',
    }),
  ),
  seed: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Seed for adapter initialisation, noise, timesteps and batch order: the same seed on the same machine gives the same run.',
    }),
  ),
  mixed_precision: Type.Optional(
    Type.Enum(['no', 'fp16', 'bf16'], {
      default: 'no',
      description:
        'Run the forward pass in 16-bit floats: bf16 (RTX 30xx/40xx and newer, also CPUs) is a modest speed-up with float32 range; fp16 suits older GPUs and needs a gradient scaler against underflow (used automatically). Adapter weights stay float32.',
    }),
  ),
  full_bf16: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        "Store the adapter's weights, and so its gradients and optimizer state, in bf16 too, not only the forward pass (sd-scripts' --full_bf16). Needs mixed_precision bf16. Saves memory; updates smaller than about 1/256 of a weight are lost. The saved file is float32 either way.",
    }),
  ),
  gradient_checkpointing: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'Recompute the UNet\'s activations during backward instead of storing them: much less memory for about 20–30% more time per step. What makes SDXL fit in 8–12 GB.',
    }),
  ),
  torch_compile: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        "Compile the UNet's training forward and backward with torch.compile (sd-scripts' --torch_compile). The first step waits while it compiles; later steps run fused kernels and launch fewer of them. Measured for shapes-xl on a 2-core CPU (inductor, lesson 42): the first compile took 99 s (7-8 s once inductor's cache in the temp folder held it), then 29 ms a step instead of 42. Worth it for long runs, not for a one-minute lesson cell. Sample images and scores run uncompiled.",
    }),
  ),
  dynamo_backend: Type.Optional(
    Type.Enum(['inductor', 'aot_eager', 'eager', 'cudagraphs'], {
      default: 'inductor',
      description:
        "torch.compile's backend, read when torch_compile is on (sd-scripts' --dynamo_backend). inductor generates fused kernels: Triton on a GPU, C++ on a CPU (it needs a C++ compiler there). cudagraphs replays recorded CUDA kernels without fusing them. aot_eager and eager only trace the model, which shows whether it compiles without generating code.",
    }),
  ),
  dynamo_mode: Type.Optional(
    Type.Enum(['default', 'reduce-overhead', 'max-autotune'], {
      default: 'default',
      description:
        "inductor's mode, read when torch_compile is on with the inductor backend (torch.compile's mode; accelerate launch's --dynamo_mode). reduce-overhead also records the compiled kernels as CUDA graphs and replays them, so the CPU no longer launches each one. Measured on an H100 for SDXL at batch 8 (bench/README.md): 0.39 s a step against 0.59 s uncompiled, after a 6-minute compile. It needs a CUDA device; each new batch shape (another bucket) is compiled and recorded again. max-autotune also times several kernels for each matrix multiply and keeps the fastest: a much longer compile.",
    }),
  ),
  noise_offset: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0,
      description:
        'Adds a small per-image, per-channel constant to the noise so the model learns to change overall brightness: brighter brights and darker darks. 0.0357 to 0.1 is typical; 0 turns it off.',
    }),
  ),
  multires_noise_iterations: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 20,
      default: 0,
      description:
        'Multi-resolution ("pyramid") noise (multires_noise_iterations in sd-scripts): noise drawn at up to this many ever coarser sizes is added to the usual noise, so whole shapes and colour fields are destroyed and re-learned, not only fine grain. Like noise_offset, it helps with very dark or bright images and broad contrast. 6 to 10 is typical (with discount 0.3); 0 turns it off.',
    }),
  ),
  multires_noise_discount: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.3,
      description: 'With multires_noise_iterations: each coarser level is weighted by this times the one before (multires_noise_discount). 0.1 to 0.4; lower keeps it close to plain noise.',
    }),
  ),
  ip_noise_gamma: nullable(
    Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    'Input perturbation (ip_noise_gamma in sd-scripts; Ning et al. 2023): the UNet\u2019s noisy input gets this much extra noise that its target does not have, so it learns to correct small errors in its own input, as it must when sampling. 0.1 is the paper\u2019s value; null turns it off.',
  ),
  min_snr_gamma: nullable(
    Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    'Min-SNR loss weighting: down-weights the easy, low-noise timesteps so training converges faster (Hang et al. 2023). 5 is the paper\'s and the community\'s value; null turns it off.',
  ),
  loss_type: Type.Optional(
    Type.Enum(['l2', 'l1', 'huber', 'smooth_l1'], {
      default: 'l2',
      description:
        'The loss (loss_type in sd-scripts). l2: the mean squared error between the predicted and the true noise, what every lesson uses. l1: the mean absolute error. huber and smooth_l1: pseudo-Huber, squared for small errors and linear for large ones, so a few badly predicted images (odd ones out in a dataset) pull less; their threshold is huber_c, scheduled by huber_schedule.',
    }),
  ),
  huber_c: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.1,
      description: 'With loss_type huber or smooth_l1: the error at which the loss turns from squared to linear (huber_c in sd-scripts), where huber_schedule ends up. Smaller is more robust to outliers and closer to l1.',
    }),
  ),
  huber_schedule: Type.Optional(
    Type.Enum(['snr', 'exponential', 'constant'], {
      default: 'snr',
      description: 'With loss_type huber or smooth_l1: how the threshold follows the timestep (huber_schedule in sd-scripts). snr: 1 where the latent is nearly clean, falling to huber_c as noise takes over; exponential: from 1 at timestep 0 to huber_c at the last; constant: huber_c throughout.',
    }),
  ),
  huber_scale: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 10,
      default: 1,
      description: 'With loss_type huber or smooth_l1 and huber_schedule exponential or constant: a factor on the threshold (huber_scale in sd-scripts, which leaves the snr schedule unscaled too). Above 1 the loss stays squared to larger errors, closer to l2.',
    }),
  ),
  debiased_estimation: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'Debiased estimation (debiased_estimation_loss in sd-scripts): each image\u2019s loss is weighted by 1/\u221aSNR of its timestep (1/(SNR+1) for v-prediction), so the nearly clean, low-noise timesteps, whose loss is tiny but plentiful, count less. Stacks with min_snr_gamma if both are set.',
    }),
  ),
  min_timestep: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 999,
      default: 0,
      description: 'Train only on timesteps from this one up (min_timestep in sd-scripts; 0 to 999, 0 is nearly clean). With max_timestep it narrows what the adapter learns: late timesteps carry composition and shape, early ones fine detail. 0: from the start.',
    }),
  ),
  max_timestep: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 1000,
      description: 'Train only on timesteps below this one (max_timestep in sd-scripts). 1000: to the end of the schedule.',
    }),
  ),
  max_grad_norm: nullable(
    Type.Number({ exclusiveMinimum: 0, maximum: 1000 }),
    'Gradient clipping: when the gradients\u2019 combined L2 norm (the grad-norm chart) exceeds this, all are scaled down together to it, so one bad batch cannot throw the adapter far. sd-scripts and diffusers clip at 1 by default (max_grad_norm); tunebook does not unless set, and its lessons were measured without. null: no clipping.',
  ),
  scale_weight_norms: nullable(
    Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    'Max-norm regularization (scale_weight_norms in sd-scripts): after every step, each adapter module whose weight update (its up x down product, times its scale) has a norm above this is scaled back down to it. Keeps any one layer from growing large, which kohya\u2019s docs say makes a LoRA combine better with others and burn less; 1 is sd-scripts\u2019 suggestion. LoRA, LoCon, LoHa, LoKr, OFT, BOFT and DoRA; null: off.',
  ),
  max_token_length: Type.Optional(
    Type.Enum([75, 150, 225], {
      default: 75,
      description:
        'How many caption tokens the text encoders read (max_token_length in sd-scripts). CLIP reads 75 at a time; at 150 or 225 a caption is cut into two or three windows of 75, each encoded on its own and joined, as sd-scripts and A1111 do, so long tag lists are not cut off. Samples are encoded the same way. 75: one window, the rest of a longer caption is dropped.',
    }),
  ),
  clip_skip: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 12,
      default: 1,
      description:
        'Which text-encoder layer conditions the UNet, counted from the end as A1111 and sd-scripts count it: 1 the last, 2 the one before it (through the final layer norm). Many anime SD1.5 models (those descended from NovelAI\u2019s) were trained with 2; train with the value the model was, and sample with it. SD1.x and SD2.x only: SDXL always uses fixed layers.',
    }),
  ),
  prediction_type: Type.Optional(
    Type.Enum(['auto', 'epsilon', 'v_prediction'], {
      default: 'auto',
      description:
        'What the UNet learns to predict: epsilon (the noise; SD1.5, SDXL) or v_prediction (SD2.x 768 models; --v_parameterization in sd-scripts). auto takes it from the base model\'s scheduler config.',
    }),
  ),
  cache_latents: Type.Optional(
    Type.Enum(['off', 'memory', 'disk'], {
      default: 'memory',
      description:
        'Encode every image with the VAE once instead of every step: memory keeps the latents in RAM for this run; disk also writes them to a cache keyed by the image content, the VAE and the resolution, so a changed image or VAE is recomputed, never served stale; off encodes each batch as it comes (needed for random augmentation).',
    }),
  ),
  cache_text_encoder_outputs: Type.Optional(
    Type.Enum(['auto', 'off', 'memory', 'disk'], {
      default: 'auto',
      description:
        'Encode every caption with the frozen text encoders once, before training, instead of every batch (cache_text_encoder_outputs in sd-scripts; disk is cache_text_encoder_outputs_to_disk). auto: memory when it can be (frozen text encoders, unshuffled captions), else off; memory keeps the outputs for this run; disk also writes them to a cache keyed by the caption text and the encoders\u2019 weights. Once cached, the text encoders wait in CPU memory until sampling, which frees about 1.6 GB of GPU memory for SDXL. Needs frozen text encoders (method.train_text_encoder false) and data.shuffle_caption off; caption_dropout works, its empty caption is cached too.',
    }),
  ),
  dataloader_workers: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 64,
      default: 0,
      description:
        'Background processes that load and encode images while the model trains (max_data_loader_n_workers). 0 loads in the training process. Only matters with cache_latents off; 1–2 is typical.',
    }),
  ),
  cpu_threads: nullable(
    Type.Integer({ minimum: 1, maximum: 256 }),
    'Threads PyTorch computes with on the CPU (accelerate\u2019s --num_cpu_threads_per_process). Empty: every core but one, which the server and the browser need. The community runs 2 to 4 per process; on a small CPU shared with other programs, fewer threads than cores is often faster, because threads that wait for a busy core stall every step.',
  ),
  save_precision: Type.Optional(
    Type.Enum(['float', 'fp16', 'bf16'], {
      default: 'float',
      description:
        'The number format of the saved adapter\u2019s weights (save_precision in sd-scripts). float (32-bit) keeps them exactly as trained; fp16 halves the file, and is what kohya_ss presets save and every UI loads; bf16 halves it too, with float32\u2019s range and fewer digits. Training itself is unaffected.',
    }),
  ),
  save_every: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Also save the adapter every this many optimizer steps, as adapters/step-00000100.safetensors in the run folder (save_every_n_steps in sd-scripts): each is a complete adapter of the run as it was then, so you can keep the one from before it overfit. 0: only the final adapter.',
    }),
  ),
  save_state_every: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Save a resumable state (adapter, optimizer, scheduler, random generators, step) every this many optimizer steps; 0 saves only when the run is cancelled. Resuming continues the run exactly.',
    }),
  ),
  resume: Type.Optional(
    Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      default: null,
      description: 'Continue from a saved state: a run id (a folder under runs/) or a path to a state folder. The config must match the saved run\'s.',
    }),
  ),
})
