// How many optimizer steps a run of epochs takes, counted as sd-scripts counts them.

export interface StepCount {
  steps: number
  batchesPerEpoch: number
  stepsPerEpoch: number
  /** The arithmetic, spelled out for the preview. */
  formula: string
}

export function optimizerSteps(run: { images: number; repeats: number; epochs: number; batchSize: number; accumulation: number }): StepCount {
  const { images, repeats, epochs, batchSize, accumulation } = run
  const batchesPerEpoch = Math.ceil((images * repeats) / batchSize)
  // One optimizer step per `accumulation` batches; a last partial group still steps.
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / accumulation)
  const steps = epochs * stepsPerEpoch
  const formula =
    `ceil(${images} images × ${repeats} repeats / batch ${batchSize}) = ${batchesPerEpoch} batches per epoch; ` +
    `ceil(${batchesPerEpoch} / ${accumulation} accumulation) = ${stepsPerEpoch} optimizer steps per epoch; ` +
    `× ${epochs} epochs = ${steps} steps`
  return { steps, batchesPerEpoch, stepsPerEpoch, formula }
}
