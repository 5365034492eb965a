import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isTerminal, type RunEvent, type ServerMessage } from '../../core/src/index.ts'
import { startHarness, TestClient, type Harness } from './harness.ts'

let harness: Harness
let runId: string
let runDir: string
const get = (path: string) => fetch(`${harness.server.url}${path}`)
/** A file of the run (e.g. adapters/x) is refused: 404, with `error` in the message, and nothing from outside the run. */
async function expectNotServed(file: string, error: string) {
  const response = await get(`/runs/${runId}/${file}`)
  expect(response.status).toBe(404)
  const body = await response.json()
  expect(body.error).toContain(error)
  expect(JSON.stringify(body)).not.toContain('outside the run')
}
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')
const STAR = Buffer.alloc(300, 3)

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
    expect(await (await get(`/api/runs/${runId}/adapter`)).json()).toEqual({ file: 'adapter.safetensors', bytes: 1234, saved: [], words: [] })
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

describe("a trained word's own embedding file (method.embedding_words)", () => {
  beforeAll(() => {
    // From here the run has an embeddings/ folder, as a run that trained the word "star" has.
    const words = join(runDir, 'embeddings')
    mkdirSync(words)
    writeFileSync(join(words, 'star.safetensors'), STAR)
    writeFileSync(join(words, '.star.safetensors.tmp'), 'half written')
    writeFileSync(join(words, 'notes.txt'), 'not an embedding')
    writeFileSync(join(harness.root, 'secret-word.safetensors'), 'outside the run')
    symlinkSync(join(harness.root, 'secret-word.safetensors'), join(words, 'secret.safetensors'))
  })

  it('is listed with the adapter, and served as a download named as ComfyUI calls it (embedding:star)', async () => {
    expect((await (await get(`/api/runs/${runId}/adapter`)).json()).words).toEqual([{ word: 'star', file: 'star.safetensors', bytes: 300 }])
    const response = await get(`/runs/${runId}/embeddings/star.safetensors`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=star.safetensors')
    expect(Buffer.from(await response.arrayBuffer())).toEqual(STAR)
  })

  it.each([
    ['the final adapter, beside embeddings/', '..%2Fadapter.safetensors'],
    ['a word that was not trained', 'circle.safetensors'],
    ['a half-written file', '.star.safetensors.tmp'],
    ['a file that is not an embedding', 'notes.txt'],
    ['a symlink out of the run', 'secret.safetensors'],
  ])('refuses %s, naming the run and the file', (_what, name) => expectNotServed(`embeddings/${name}`, `run "${runId}" has no word file "${decodeURIComponent(name)}"`))
})

describe('adapters saved along the way (training.save_every)', () => {
  const STEP_100 = Buffer.alloc(100, 1)
  beforeAll(() => {
    // The first describe's tests ran without an adapters/ folder; from here the run has one.
    const adapters = join(runDir, 'adapters')
    mkdirSync(adapters)
    writeFileSync(join(adapters, 'step-00000200.safetensors'), Buffer.alloc(200, 2))
    writeFileSync(join(adapters, 'step-00000100.safetensors'), STEP_100)
    writeFileSync(join(adapters, 'step-00000300.safetensors.tmp'), 'half written')
    writeFileSync(join(adapters, 'step-300.safetensors'), 'not the trainer\'s name')
    writeFileSync(join(adapters, 'notes.txt'), 'not an adapter')
    mkdirSync(join(adapters, 'step-00000400.safetensors'))
    writeFileSync(join(harness.root, 'secret.safetensors'), 'outside the run')
    symlinkSync(join(harness.root, 'secret.safetensors'), join(adapters, 'step-00000500.safetensors'))
    symlinkSync(join(runDir, 'adapter.safetensors'), join(adapters, 'step-00000600.safetensors'))
  })

  it('are listed by step with their sizes: only files named as the trainer names them, inside adapters/', async () => {
    const info = await (await get(`/api/runs/${runId}/adapter`)).json()
    expect(info).toEqual({
      file: 'adapter.safetensors',
      bytes: 1234,
      saved: [
        { step: 100, file: 'step-00000100.safetensors', bytes: 100 },
        { step: 200, file: 'step-00000200.safetensors', bytes: 200 },
      ],
      words: [{ word: 'star', file: 'star.safetensors', bytes: 300 }],
    })
  })

  it('are served as downloads named like sd-scripts names them', async () => {
    const response = await get(`/runs/${runId}/adapters/step-00000100.safetensors`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename=first-lora-${runId}-step00000100.safetensors`)
    expect(Buffer.from(await response.arrayBuffer())).toEqual(STEP_100)
  })

  it.each([
    ['the final adapter, beside adapters/', '..%2Fadapter.safetensors'],
    ['the run config', '..%2Fconfig.json'],
    ['an encoded dot-dot out of the project', '%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.safetensors'],
    ['a backslash path', '..%5Cconfig.json'],
    ['a name with a NUL byte', 'step-00000100.safetensors%00.txt'],
    ['a half-written file', 'step-00000300.safetensors.tmp'],
    ['a step that is not 8 digits', 'step-300.safetensors'],
    ['a file that is not an adapter', 'notes.txt'],
    ['a folder with an adapter\'s name', 'step-00000400.safetensors'],
    ['a symlink out of the run', 'step-00000500.safetensors'],
    ['a symlink to the final adapter', 'step-00000600.safetensors'],
    ['a step that was not saved', 'step-00000900.safetensors'],
  ])('refuse %s, naming the run and the file', (_what, name) => expectNotServed(`adapters/${name}`, `run "${runId}" has no saved adapter "${decodeURIComponent(name)}"`))

  it('refuse a dot-dot the URL parser leaves in place', async () => {
    // fetch() would resolve the dots itself; a raw request sends them as typed, and the page fallback, never a file, answers.
    const body = await new Promise<string>((resolve, reject) => {
      const url = new URL(harness.server.url)
      request({ host: url.hostname, port: url.port, path: `/runs/${runId}/adapters/../../../secret.safetensors` }, (res) => {
        let text = ''
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () => resolve(text))
      })
        .on('error', reject)
        .end()
    })
    expect(body).not.toContain('outside the run')
  })

  it('refuse saved adapters of an unknown run, or one named by a path', async () => {
    const unknown = await get('/runs/nope/adapters/step-00000100.safetensors')
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).error).toContain('run "nope" has no saved adapter "step-00000100.safetensors"')
    expect((await get(`/runs/..%2F${runId}/adapters/step-00000100.safetensors`)).status).toBe(404)
  })
})
