// Does watching slow training? The real server and trainer run the same job
// alone and with 50 websocket clients watching, alternated, and the median
// step time of each is compared. The target: at most 2% slower.
// Prints one JSON object on stdout.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isTerminal, type StepEvent } from '../core/src/index.ts'
import { startServer } from '../server/src/app.ts'
import { TestClient } from '../test/server/harness.ts'

const WATCHERS = 50
const STEPS = 120
const SKIP = 20 // warm-up steps left out
const ROUNDS = 2
const root = fileURLToPath(new URL('..', import.meta.url))
const runsDir = mkdtempSync(join(tmpdir(), 'tunebook-bench-watchers-'))
const server = await startServer({ root, runsDir, port: 0, host: '127.0.0.1', workerLog: () => {} })
const config = `data:\n  images: 16\ntraining:\n  max_steps: ${STEPS}\n  batch_size: 4\n`

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function medianStepSeconds(watchers: number): Promise<number> {
  const owner = await TestClient.connect(server.url)
  const others = await Promise.all(Array.from({ length: watchers }, () => TestClient.connect(server.url)))
  owner.send({ type: 'run.start', notebook: 'lessons/welcome.md', cell: 'first-lora', config })
  const accepted = await owner.waitFor((m) => m.type === 'run.accepted', 30_000)
  const runId = accepted.type === 'run.accepted' ? accepted.run.id : ''
  for (const w of others) w.send({ type: 'run.watch', run_id: runId })
  await owner.waitFor((m) => m.type === 'run.events' && m.events.some((e) => isTerminal(e.type as never)), 600_000)
  const steps = owner.events(runId).filter((e): e is StepEvent => e.type === 'step').slice(SKIP)
  for (const c of [owner, ...others]) c.close()
  return median(steps.map((e) => e.step_seconds!))
}

const alone: number[] = []
const watched: number[] = []
await medianStepSeconds(0) // warm the worker: model loaded, caches filled
for (let round = 0; round < ROUNDS; round++) {
  alone.push(await medianStepSeconds(0))
  watched.push(await medianStepSeconds(WATCHERS))
}
await server.close()
rmSync(runsDir, { recursive: true, force: true })
const ratio = median(alone) / median(watched)
console.log(
  JSON.stringify({
    watchers: WATCHERS,
    median_step_seconds_alone: median(alone),
    median_step_seconds_watched: median(watched),
    throughput_ratio: ratio,
    target_ratio: 0.98,
    within_target: ratio >= 0.98,
  }),
)
