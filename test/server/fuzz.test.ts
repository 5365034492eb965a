// Generated bad input, thousands of times: the websocket endpoint and the
// config validator must answer every input in words and never crash.
import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CLIENT_MESSAGE_TYPES, decodeClientMessage, parseConfig, resolveConfig } from '../../core/src/index.ts'
import { startHarness, TestClient, type Harness } from './harness.ts'

const RUNS = 10_000
let harness: Harness
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  harness = await startHarness()
})
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await harness.close()
})

const yamlish = fc.oneof(
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record({
      method: fc.record({ name: fc.oneof(fc.constant('lora'), fc.string()), rank: fc.oneof(fc.integer(), fc.string(), fc.double()) }, { requiredKeys: [] }),
      optimizer: fc.record({ lr: fc.oneof(fc.double(), fc.string(), fc.constant(null)), name: fc.string() }, { requiredKeys: [] }),
      training: fc.dictionary(fc.string(), fc.jsonValue()),
    }, { requiredKeys: [] })
    .map((v) => JSON.stringify(v)),
)

const message = fc.oneof(
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record({
      type: fc.oneof(fc.constantFrom(...CLIENT_MESSAGE_TYPES), fc.string()),
      notebook: fc.oneof(fc.constant('lessons/welcome.md'), fc.string(), fc.constant('../etc/passwd'), fc.integer()),
      cell: fc.oneof(fc.constant('first-lora'), fc.string()),
      config: fc.oneof(yamlish, fc.jsonValue()),
      run_id: fc.oneof(fc.string(), fc.integer()),
    }, { requiredKeys: ['type'] })
    .map((v) => JSON.stringify(v)),
)

it(`the config validator answers ${RUNS} generated configs without throwing`, () => {
  let rejected = 0
  fc.assert(
    fc.property(yamlish, fc.jsonValue(), (text, value) => {
      const parsed = parseConfig(text)
      const resolved = resolveConfig(value)
      for (const result of [parsed, resolved]) {
        if (!result.ok) {
          rejected++
          expect(result.issues.length).toBeGreaterThan(0)
          for (const issue of result.issues) expect(typeof issue.message).toBe('string')
        }
      }
    }),
    { numRuns: RUNS },
  )
  console.log(`fuzz: ${RUNS * 2} configs validated, ${rejected} rejected with a named issue, 0 exceptions`)
}, 60_000)

it(`the websocket answers ${RUNS} generated messages and stays up`, async () => {
  const client = await TestClient.connect(harness.server.url)
  const inputs = fc.sample(message, { numRuns: RUNS, seed: 42 })
  for (const input of inputs) client.send(input)
  // Every input is answered (an error, a rejection or an acceptance) except a well-formed run.unwatch, which is silent.
  const silent = inputs.filter((raw) => {
    const decoded = decodeClientMessage(raw)
    return decoded.ok && decoded.message.type === 'run.unwatch'
  }).length
  await client.waitFor(() => client.received.length >= inputs.length - silent, 60_000)
  expect(client.socket.readyState).toBe(client.socket.OPEN)
  const again = await TestClient.connect(harness.server.url)
  again.send({ type: 'run.start', notebook: 'lessons/welcome.md', cell: 'first-lora', config: '' })
  await again.waitFor((m) => m.type === 'run.accepted' || m.type === 'run.rejected')
  expect(unhandled).toEqual([])
  console.log(`fuzz: ${inputs.length} websocket messages sent, ${client.received.length} answers, 0 crashes, 0 unhandled rejections`)
}, 90_000)
