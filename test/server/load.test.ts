// Many watchers on one fast run, and one that never reads: everyone who reads
// gets every event and the final state; the one who doesn't is dropped.
import WebSocket from 'ws'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { isTerminal, type ServerMessage } from '../../core/src/index.ts'
import { startHarness, TestClient, type Harness } from './harness.ts'

const CLIENTS = 50
const STEPS = 1500
let harness: Harness

beforeAll(async () => {
  process.env.FAKE_STEP_MS = '1' // about 500 steps/s from the fake worker
  harness = await startHarness({ hubLimits: { flushMs: 50, maxBuffered: 64 * 1024, maxPending: 300 } })
})
afterAll(async () => {
  delete process.env.FAKE_STEP_MS
  await harness.close()
})

const start = (steps: number) => ({ type: 'run.start', notebook: 'lessons/welcome.md', cell: 'first-lora', config: `training:\n  max_steps: ${steps}\n` }) as const
const accepted = (m: ServerMessage): m is Extract<ServerMessage, { type: 'run.accepted' }> => m.type === 'run.accepted'
const done = (client: TestClient, runId: string) =>
  client.waitFor((m) => m.type === 'run.events' && m.run_id === runId && m.events.some((e) => isTerminal(e.type as never)), 60_000)

async function runOnce(watchers: TestClient[]) {
  const owner = await TestClient.connect(harness.server.url)
  owner.send(start(STEPS))
  const { run } = await owner.waitFor(accepted)
  for (const w of watchers) w.send({ type: 'run.watch', run_id: run.id })
  await Promise.all([owner, ...watchers].map((c) => done(c, run.id)))
  const events = owner.events(run.id)
  const started = events.find((e) => e.type === 'started')!.time
  const finished = events.at(-1)!.time
  return { runId: run.id, seconds: finished - started, steps: events.filter((e) => e.type === 'step').length }
}

it(`${CLIENTS} watchers of a run at hundreds of steps/s all get every event and the final state`, async () => {
  const alone = await runOnce([])
  const watchers = await Promise.all(Array.from({ length: CLIENTS }, () => TestClient.connect(harness.server.url)))
  const crowded = await runOnce(watchers)
  expect(crowded.steps).toBe(STEPS)
  for (const w of watchers) expect(w.events(crowded.runId)).toEqual(watchers[0].events(crowded.runId))
  console.log(
    `load: ${CLIENTS} clients held, each got all ${STEPS} steps and the final state; ` +
      `the run took ${crowded.seconds.toFixed(2)} s watched, ${alone.seconds.toFixed(2)} s alone (${(STEPS / crowded.seconds).toFixed(0)} steps/s)`,
  )
  for (const w of watchers) w.close()
}, 60_000)

it('drops a client that never reads, while a reading client gets the whole run', async () => {
  process.env.FAKE_STEPS_PER_TICK = '50' // tens of megabytes of events within seconds: more than socket buffers hold
  await harness.close()
  harness = await startHarness({ hubLimits: { flushMs: 50, maxBuffered: 1024 * 1024, maxPending: 20_000 } })
  const steps = 100_000
  const reader = await TestClient.connect(harness.server.url)
  const stalled = new WebSocket(harness.server.url.replace('http', 'ws') + '/ws')
  await new Promise((resolve) => stalled.once('open', resolve))
  const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()))
  reader.send(start(steps))
  const { run } = await reader.waitFor(accepted)
  stalled.send(JSON.stringify({ type: 'run.watch', run_id: run.id }))
  ;(stalled as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause()
  await done(reader, run.id)
  expect(reader.events(run.id).filter((e) => e.type === 'step')).toHaveLength(steps)
  ;(stalled as unknown as { _socket: { resume(): void } })._socket.resume()
  await closed // the server hung up on it instead of buffering for it
  const memory = process.memoryUsage().heapUsed
  console.log(`load: a client that never read was dropped; the reader got all ${steps} steps; server heap ${(memory / 2 ** 20).toFixed(0)} MB`)
  delete process.env.FAKE_STEPS_PER_TICK
}, 60_000)
