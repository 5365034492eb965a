// Writes core/schema/train-config.schema.json from core/src/config/schema.ts.
// Run `npm run gen:schema` after changing the schema; test/core/schema-export.test.ts fails when it is stale.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { exportedSchemaText } from '../src/config/export.ts'

const target = fileURLToPath(new URL('../schema/train-config.schema.json', import.meta.url))
writeFileSync(target, exportedSchemaText())
console.log(`wrote ${target}`)
