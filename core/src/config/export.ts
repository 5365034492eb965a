import { TrainConfigSchema } from './schema.ts'

export const SCHEMA_PATH = 'core/schema/train-config.schema.json'

/** The JSON Schema file's exact text: generated; do not edit the file by hand. */
export function exportedSchemaText(): string {
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $comment: 'generated from core/src/config/schema.ts by `npm run gen:schema`; do not edit',
    ...JSON.parse(JSON.stringify(TrainConfigSchema)),
  }
  return JSON.stringify(schema, null, 2) + '\n'
}
