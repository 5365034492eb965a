// Entry point: `npm start` runs this after setup. Flags: --port N (or
// TUNEBOOK_PORT), --host ADDR (or TUNEBOOK_HOST; default 127.0.0.1).
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startServer } from './app.ts'

const DEFAULT_PORT = 4178

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string' } },
  allowPositionals: false,
})
const port = Number(values.port ?? process.env.TUNEBOOK_PORT ?? DEFAULT_PORT)
const host = values.host ?? process.env.TUNEBOOK_HOST ?? '127.0.0.1'
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer from 0 to 65535, not "${values.port ?? process.env.TUNEBOOK_PORT}"`)
  process.exit(2)
}
if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
  console.warn(`warning: listening on ${host}: anyone who can reach this address can run training and read your notebooks`)
}

const root = fileURLToPath(new URL('../..', import.meta.url))
const server = await startServer({ root, port, host })
console.log(`tunebook is running at ${server.url}/#lessons/welcome.md`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    await server.close()
    process.exit(0)
  })
}
