import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { SCHEMA_PATH, exportedSchemaText } from '../../core/src/config/export.ts'

it('the committed JSON Schema equals the one core/src/config/schema.ts defines', () => {
  const committed = readFileSync(new URL(`../../${SCHEMA_PATH}`, import.meta.url), 'utf8')
  // On failure: run `npm run gen:schema` and commit core/schema/train-config.schema.json.
  expect(committed, `${SCHEMA_PATH} is stale: run \`npm run gen:schema\``).toBe(exportedSchemaText())
})
