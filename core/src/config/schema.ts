// The training config, defined once. Everything else derives from this file
// and its sections: the exported JSON Schema (core/schema/train-config.schema.json)
// that the trainer validates against, the TypeScript types, editor hover docs and
// the error messages. Every field carries its default and a reason.
import Type, { type Static } from 'typebox'
import { DataSection } from './sections/data.ts'
import { EvalSection } from './sections/eval.ts'
import { MethodSection } from './sections/method.ts'
import { ModelSection } from './sections/model.ts'
import { OptimizerSection } from './sections/optimizer.ts'
import { SampleSection } from './sections/sample.ts'
import { SchedulerSection } from './sections/scheduler.ts'
import { TrainingSection } from './sections/training.ts'

export { METHODS, type MethodName } from './sections/method.ts'
export { OPTIMIZERS, type OptimizerName } from './sections/optimizer.ts'
export { CONCEPTS, DATA_SOURCES } from './sections/data.ts'
export { SAMPLERS } from './sections/sample.ts'
export { SCHEDULERS, type SchedulerName } from './sections/scheduler.ts'
export { type RegistryEntry } from './sections/section.ts'

export const TrainConfigSchema = Type.Object(
  {
    model: Type.Optional(ModelSection),
    data: Type.Optional(DataSection),
    method: Type.Optional(MethodSection),
    optimizer: Type.Optional(OptimizerSection),
    scheduler: Type.Optional(SchedulerSection),
    training: Type.Optional(TrainingSection),
    sample: Type.Optional(SampleSection),
    eval: Type.Optional(EvalSection),
  },
  {
    $id: 'https://tunebook.local/schema/train-config.json',
    title: 'tunebook training config',
    description: 'The YAML body of a train cell. Every field is optional; omitted fields take their defaults.',
    additionalProperties: false,
  },
)

type Resolved<T> = T extends object ? (T extends readonly unknown[] ? T : { [K in keyof T]-?: Resolved<T[K]> }) : T

/** A config as the user wrote it: any field may be missing. */
export type TrainConfigInput = Static<typeof TrainConfigSchema>
/** A config after defaults: every field present. This is what the trainer receives. */
export type TrainConfig = Resolved<TrainConfigInput>
