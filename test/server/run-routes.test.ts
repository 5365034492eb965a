import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isTerminal, type RunEvent, type ServerMessage } from '../../core/src/index.ts'
import { startHarness, TestClient, type Harness } from './harness.ts'

let harness: Harness
let runId: string
let runDir: string
const get = (path: string) => fetch(`${harness.server.url}${path}`)
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')

beforeAll(async () => {
  harness = await startHarness()
  const client = await TestClient.connect(harness.server.url)
  client.send({ type: 'run.start', notebook: 'lessons/welcome.md', cell: 'first-lora', config: 'training:\n  max_steps: 3\n' })
  const accepted = await client.waitFor((m): m is Extract<ServerMessage, { type: 'run.accepted' }> => m.type === 'run.accepted')
  runId = accepted.run.id
  await client.waitFor((m) => m.type === 'run.events' && m.events.some((e) => isTerminal(e.type as never)))
  client.close()
  runDir = join(harness.runsDir, runId)
  mkdirSync(join(runDir, 'samples'))
  writeFileSync(join(runDir, 'samples', '000003_0.png'), PNG)
  writeFileSync(join(harness.root, 'secret.png'), 'outside the run')
  symlinkSync(join(harness.root, 'secret.png'), join(runDir, 'samples', 'escape.png'))
  symlinkSync(join(runDir, 'config.json'), join(runDir, 'samples', 'config.png'))
})
afterAll(() => harness?.close())

describe('run data routes', () => {
  it('serve a run history, tolerating a torn last line', async () => {
    const before = (await (await get(`/api/runs/${runId}/events`)).json()) as RunEvent[]
    expect(before.map((e) => e.type)).toEqual(['queued', 'started', 'step', 'step', 'step', 'finished'])
    appendFileSync(join(runDir, 'events.jsonl'), '{"type":"step","ti')
    expect(await (await get(`/api/runs/${runId}/events`)).json()).toEqual(before)
  })

  it('serve the resolved config and the YAML as written', async () => {
    const stored = await (await get(`/api/runs/${runId}/config`)).json()
    expect(stored).toMatchObject({ id: runId, cell: 'first-lora', source: 'training:\n  max_steps: 3\n' })
    expect(stored.config.optimizer.lr).toBe(0.001)
  })

  it('report the adapter size, or say there is none', async () => {
    writeFileSync(join(runDir, 'adapter.safetensors'), Buffer.alloc(1234))
    expect(await (await get(`/api/runs/${runId}/adapter`)).json()).toEqual({ file: 'adapter.safetensors', bytes: 1234 })
    const none = await get('/api/runs/nope/adapter')
    expect(none.status).toBe(404)
    expect((await none.json()).error).toContain('no run with id "nope"')
  })

  it('serve a sample image of the run', async () => {
    const response = await get(`/runs/${runId}/samples/000003_0.png`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('image/png')
    expect(Buffer.from(await response.arrayBuffer())).toEqual(PNG)
  })

  it.each([
    ['a file of the run folder outside samples/', '..%2Fconfig.json', 400],
    ['an encoded dot-dot', '%2E%2E%2F%2E%2E%2Fsecret.png', 400],
    ['a backslash path', '..%5Cconfig.json', 400],
    ['a hidden file', '.env.png', 400],
    ['a file that is not an image', 'events.jsonl', 400],
    ['a symlink out of the run', 'escape.png', 404],
    ['a symlink to the run config', 'config.png', 404],
    ['a sample that does not exist', '000099_0.png', 404],
  ])('refuse %s', async (_what, name, status) => {
    const response = await get(`/runs/${runId}/samples/${name}`)
    expect(response.status).toBe(status)
    const body = await response.json()
    expect(body.error).toMatch(/sample/)
    expect(JSON.stringify(body)).not.toContain('outside the run')
  })

  it('refuse samples of an unknown run, or one named by a path', async () => {
    expect((await get('/runs/nope/samples/000003_0.png')).status).toBe(404)
    expect((await get(`/runs/..%2F${runId}/samples/000003_0.png`)).status).toBe(404)
  })
})
