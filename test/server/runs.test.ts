import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isTerminal, type ClientMessage, type RunEvent, type ServerMessage } from '../../core/src/index.ts'
import { startHarness, TestClient, type Harness } from './harness.ts'

const start = (config = 'training:\n  max_steps: 12\n', cell = 'first-lora') =>
  ({ type: 'run.start', notebook: 'lessons/welcome.md', cell, config }) as const
const accepted = (m: ServerMessage): m is Extract<ServerMessage, { type: 'run.accepted' }> => m.type === 'run.accepted'
const errorMsg = (m: ServerMessage): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error'
const finalEvent = (client: TestClient, runId: string) =>
  client.waitFor((m) => m.type === 'run.events' && m.run_id === runId && m.events.some((e) => isTerminal(e.type as never)))
const readJsonl = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunEvent)

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

describe('a run through the server', () => {
  it('is validated, recorded in runs/<id>/ and streamed to its client', async () => {
    harness = await startHarness()
    const client = await TestClient.connect(harness.server.url)
    client.send(start())
    const { run } = await client.waitFor(accepted)
    expect(run).toMatchObject({ notebook: 'lessons/welcome.md', cell: 'first-lora', status: 'queued' })
    await finalEvent(client, run.id)

    const dir = join(harness.runsDir, run.id)
    const stored = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
    expect(stored.config.training.max_steps).toBe(12)
    expect(stored.config.optimizer.lr).toBe(0.001) // defaults resolved before the trainer sees it
    const events = readJsonl(join(dir, 'events.jsonl'))
    expect(events.map((e) => e.type)).toEqual(['queued', 'started', ...Array(12).fill('step'), 'finished'])
    expect(client.events(run.id)).toEqual(events)
    // Library output from the worker went to its log, not into the event stream.
    expect(harness.workerLog.join('')).toContain('library noise')

    const list = await (await fetch(`${harness.server.url}/api/runs?notebook=lessons/welcome.md&cell=first-lora`)).json()
    expect(list).toEqual([{ ...run, status: 'finished' }])
  })

  it('replays the history to a second client that watches, then the live tail', async () => {
    harness = await startHarness({ workerCommand: undefined })
    const owner = await TestClient.connect(harness.server.url)
    owner.send(start('training:\n  max_steps: 40\n'))
    const { run } = await owner.waitFor(accepted)
    await owner.waitFor((m) => m.type === 'run.events' && m.events.some((e) => e.type === 'step'))
    const late = await TestClient.connect(harness.server.url)
    late.send({ type: 'run.watch', run_id: run.id })
    await finalEvent(late, run.id)
    expect(late.events(run.id)).toEqual(readJsonl(join(harness.runsDir, run.id, 'events.jsonl')))
  })

  it('cancels a running run within a step, and the next run works', async () => {
    harness = await startHarness()
    const client = await TestClient.connect(harness.server.url)
    client.send(start('training:\n  max_steps: 100000\n'))
    const { run } = await client.waitFor(accepted)
    await client.waitFor((m) => m.type === 'run.events' && m.events.some((e) => e.type === 'step' && e.step >= 3))
    client.send({ type: 'run.cancel', run_id: run.id })
    await finalEvent(client, run.id)
    expect(client.events(run.id).at(-1)?.type).toBe('cancelled')

    client.send(start())
    const next = await client.waitFor((m): m is Extract<ServerMessage, { type: 'run.accepted' }> => accepted(m) && m.run.id !== run.id)
    await finalEvent(client, next.run.id)
    expect(client.events(next.run.id).at(-1)?.type).toBe('finished')
  })

  it('queues runs one at a time and cancels a queued one without running it', async () => {
    harness = await startHarness()
    const client = await TestClient.connect(harness.server.url)
    client.send(start('training:\n  max_steps: 30\n'))
    client.send(start('training:\n  max_steps: 30\n'))
    await client.waitFor(() => client.received.filter(accepted).length === 2)
    const [first, second] = client.received.filter(accepted).map((m) => m.run.id)
    await client.waitFor((m) => m.type === 'run.events' && m.run_id === second && m.events.length > 0)
    expect(client.events(second)[0]).toMatchObject({ type: 'queued', position: 1 })
    client.send({ type: 'run.cancel', run_id: second })
    await finalEvent(client, first)
    await finalEvent(client, second)
    expect(client.events(second).map((e) => e.type)).toEqual(['queued', 'cancelled'])
  })

  it('marks the run interrupted when the worker dies, restarts the worker, and the next run works', async () => {
    harness = await startHarness()
    const client = await TestClient.connect(harness.server.url)
    client.send(start('training:\n  max_steps: 100000\n'))
    const { run } = await client.waitFor(accepted)
    await client.waitFor((m) => m.type === 'run.events' && m.events.some((e) => e.type === 'step'))
    const pid = Number(/fake worker pid (\d+)/.exec(harness.workerLog.join(''))![1])
    process.kill(pid, 'SIGKILL')
    await finalEvent(client, run.id)
    expect(client.events(run.id).at(-1)).toMatchObject({ type: 'interrupted', reason: 'trainer worker killed by SIGKILL' })

    client.send(start())
    const next = await client.waitFor((m): m is Extract<ServerMessage, { type: 'run.accepted' }> => accepted(m) && m.run.id !== run.id)
    await finalEvent(client, next.run.id)
    expect(client.events(next.run.id).at(-1)?.type).toBe('finished')
  })
})

describe('the run store after a server restart', () => {
  it('marks orphaned runs interrupted and tolerates a torn last line', async () => {
    harness = await startHarness()
    const root = harness.root
    const dir = join(harness.runsDir, '20260101-000000-aaaaaa')
    mkdirSync(dir)
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ id: '20260101-000000-aaaaaa', notebook: 'lessons/welcome.md', cell: 'first-lora', created: 1, source: '', config: {} }))
    writeFileSync(join(dir, 'events.jsonl'), JSON.stringify({ type: 'started', time: 1, total: 5, trainable_params: 1, device: 'cpu' }) + '\n')
    appendFileSync(join(dir, 'events.jsonl'), '{"type":"step","ti') // killed mid-write
    mkdirSync(join(harness.runsDir, '.pending-20260101-000001-bbbbbb')) // a create that never finished
    await harness.server.close()

    harness = await startHarness({ root })
    const runs = await (await fetch(`${harness.server.url}/api/runs`)).json()
    expect(runs).toEqual([expect.objectContaining({ id: '20260101-000000-aaaaaa', status: 'interrupted' })])
    expect(readdirSync(harness.runsDir)).toEqual(['20260101-000000-aaaaaa'])
    expect(readJsonl(join(dir, 'events.jsonl')).map((e) => e.type)).toEqual(['started', 'interrupted'])
  })
})

describe('bad input', () => {
  it('answers each bad message with an error, keeps the connection, and creates no run', async () => {
    harness = await startHarness()
    const client = await TestClient.connect(harness.server.url)
    const cases: [string, RegExp][] = [
      ['{"type": "run.start", "notebook":', /not valid JSON/],
      ['{"type": "run.launch"}', /unknown message type "run.launch"; known: run.start/],
      ['{"type": "run.start", "notebook": 7, "cell": "x", "config": ""}', /field "notebook" must be a string/],
      [JSON.stringify({ type: 'run.cancel', run_id: 'nope' }), /not queued or running/],
      [JSON.stringify({ type: 'run.watch', run_id: 'nope' }), /no run with id "nope"/],
    ]
    for (const [raw, expected] of cases) {
      const before = client.received.length
      client.send(raw)
      const reply = await client.waitFor((m) => client.received.indexOf(m) >= before && errorMsg(m))
      expect(reply.type === 'error' && reply.message, raw).toMatch(expected)
    }

    const rejections: [ClientMessage, RegExp][] = [
      [start('', 'no-such-cell'), /has no train cell with id "no-such-cell"/],
      [{ ...start(), notebook: 'lessons/nope.md' }, /notebook "lessons\/nope.md" does not exist/],
      [{ ...start(), notebook: '../package.json' }, /is not valid/],
    ]
    for (const [message, expected] of rejections) {
      const before = client.received.length
      client.send(message)
      const reply = await client.waitFor((m) => client.received.indexOf(m) >= before && m.type === 'run.rejected')
      expect(reply.type === 'run.rejected' && reply.issues[0].message).toMatch(expected)
    }

    const before = client.received.length
    client.send(start('optimizer:\n  lr: -1\ntraining:\n  batch_size: big\n'))
    const rejected = await client.waitFor((m) => client.received.indexOf(m) >= before && m.type === 'run.rejected')
    expect(rejected).toEqual({
      type: 'run.rejected',
      notebook: 'lessons/welcome.md',
      cell: 'first-lora',
      issues: [
        { path: 'optimizer.lr', message: 'optimizer.lr must be > 0', line: 2 },
        { path: 'training.batch_size', message: 'training.batch_size must be an integer', line: 4 },
      ],
    })
    expect(existsSync(harness.runsDir) ? readdirSync(harness.runsDir) : []).toEqual([])

    // Still connected, still working.
    client.send(start())
    await client.waitFor(accepted)
  })

  it('closes a socket that sends an oversized message, and the server stays up', async () => {
    harness = await startHarness()
    const client = await TestClient.connect(harness.server.url)
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)))
    client.send('x'.repeat(300 * 1024))
    expect(await closed).toBe(1009)
    const again = await TestClient.connect(harness.server.url)
    again.send(start())
    await again.waitFor(accepted)
  })

  it('refuses a websocket from a foreign origin', async () => {
    harness = await startHarness()
    await expect(TestClient.connect(harness.server.url, { Origin: 'https://evil.example' })).rejects.toThrow(/401/)
  })

  it('answers notebook reads that leave lessons/ and notebooks/ with 400, missing ones with 404', async () => {
    harness = await startHarness()
    const get = (path: string) => fetch(`${harness!.server.url}/api/notebook?path=${encodeURIComponent(path)}`)
    expect((await get('lessons/welcome.md')).status).toBe(200)
    expect((await get('lessons/missing.md')).status).toBe(404)
    for (const bad of ['../package.json', 'lessons/../package.json', '/etc/passwd', 'lessons/a\0.md', 'runs/x.md', 'lessons/' + 'a'.repeat(300) + '.md']) {
      const res = await get(bad)
      expect(res.status, bad).toBe(400)
      expect((await res.json()).error).toMatch(/not valid/)
    }
  })
})
