import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { parseNotebook } from '../../core/src/index.ts'
import { byOrder } from '../../server/src/notebooks.ts'
import { startHarness, TestClient, type Harness } from './harness.ts'

// Tests run as root here, so a read-only folder would not stop a write: a disk
// failure is simulated at the one call that writes a notebook's bytes.
const disk = vi.hoisted(() => ({ full: false }))
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>()
  const writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
    if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
    return (fs.writeSync as (...a: unknown[]) => number)(...args)
  }) as typeof fs.writeSync
  return { ...fs, default: { ...fs, writeSync }, writeSync }
})

let harness: Harness
let url: string
beforeEach(async () => {
  harness = await startHarness()
  url = harness.server.url
})
afterEach(async () => {
  disk.full = false
  await harness.close()
})

const json = (method: string, path: string, body?: unknown) =>
  fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error
const file = (path: string) => readFileSync(join(harness.root, path), 'utf8')
const notebookFiles = () => readdirSync(join(harness.root, 'notebooks'))
const save = (path: string, text: string) => json('PUT', `/api/notebook?path=${encodeURIComponent(path)}`, { text })

describe('creating a notebook', () => {
  it('writes notebooks/<slug>.md holding its title and lists it', async () => {
    const response = await json('POST', '/api/notebooks', { title: '  My LoRA tests!  ' })
    expect(response.status).toBe(201)
    expect(await response.json()).toEqual({ path: 'notebooks/my-lora-tests.md', title: 'My LoRA tests!' })
    expect(file('notebooks/my-lora-tests.md')).toBe('# My LoRA tests!\n')
    const index = await (await fetch(`${url}/api/notebooks`)).json()
    expect(index.notebooks).toEqual([{ path: 'notebooks/my-lora-tests.md', title: 'My LoRA tests!' }])
  })

  it('never overwrites: a second notebook of the same title gets -2', async () => {
    await json('POST', '/api/notebooks', { title: 'Same' })
    expect(await (await json('POST', '/api/notebooks', { title: 'Same' })).json()).toMatchObject({ path: 'notebooks/same-2.md' })
  })

  it.each([
    [{ title: '' }, /needs a title/],
    [{ title: 42 }, /"title" must be a string/],
    [{}, /"title" must be a string/],
    [{ title: 'x'.repeat(101) }, /101 characters; the limit is 100/],
    [{ title: 'two\nlines' }, /one line/],
  ])('refuses %j with 400', async (body, message) => {
    const response = await json('POST', '/api/notebooks', body)
    expect(response.status).toBe(400)
    expect(await errorOf(response)).toMatch(message)
  })

  it('refuses malformed JSON and non-JSON bodies by name', async () => {
    const broken = await fetch(`${url}/api/notebooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title": ' })
    expect(broken.status).toBe(400)
    expect(await errorOf(broken)).toMatch(/not valid JSON/)
    const plain = await fetch(`${url}/api/notebooks`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'title' })
    expect(plain.status).toBe(400)
    expect(await errorOf(plain)).toMatch(/Content-Type: application\/json/)
  })
})

describe('saving a notebook', () => {
  beforeEach(async () => {
    await json('POST', '/api/notebooks', { title: 'Notes' })
  })

  it('replaces the text and leaves no temp file behind', async () => {
    const text = '# Notes\n\nSome prose.\n\n```train id=a\nmethod:\n  rank: 4\n```\n'
    const response = await save('notebooks/notes.md', text)
    expect(response.status).toBe(200)
    expect(file('notebooks/notes.md')).toBe(text)
    expect(notebookFiles()).toEqual(['notes.md'])
  })

  it('keeps the old file intact when the disk fails mid-write, and says why', async () => {
    disk.full = true
    const response = await save('notebooks/notes.md', '# Half')
    expect(response.status).toBe(500)
    expect(await errorOf(response)).toBe('could not save "notebooks/notes.md": ENOSPC: no space left on device; the file on disk is unchanged')
    expect(file('notebooks/notes.md')).toBe('# Notes\n')
    expect(notebookFiles()).toEqual(['notes.md'])
  })

  it('refuses lessons with 403', async () => {
    const before = file('lessons/welcome.md')
    const response = await save('lessons/welcome.md', '# mine now')
    expect(response.status).toBe(403)
    expect(await errorOf(response)).toBe('"lessons/welcome.md" is a lesson, and lessons are read-only; save a copy to notebooks/ to edit it')
    expect(file('lessons/welcome.md')).toBe(before)
  })

  it.each([
    ['notebooks/../package.json', 400, /is not valid/],
    ['notebooks/a/b.md', 400, /is not valid/],
    ['notebooks/x\u0000.md', 400, /is not valid/],
    ['notebooks/.hidden.md', 400, /is not valid/],
    [`notebooks/${'a'.repeat(200)}.md`, 400, /is not valid/],
    ['elsewhere/notes.md', 400, /is not valid/],
    ['notebooks/missing.md', 404, /does not exist/],
  ])('refuses the path %j', async (path, status, message) => {
    const response = await save(path, '# x')
    expect(response.status).toBe(status)
    expect(await errorOf(response)).toMatch(message)
  })

  it('refuses a symlink that leads out of notebooks/', async () => {
    writeFileSync(join(harness.root, 'outside.md'), 'secret\n')
    symlinkSync(join(harness.root, 'outside.md'), join(harness.root, 'notebooks/link.md'))
    const response = await save('notebooks/link.md', '# gotcha')
    expect(response.status).toBe(400)
    expect(await errorOf(response)).toMatch(/points outside notebooks\//)
    expect(file('outside.md')).toBe('secret\n')
  })

  it('refuses a missing path parameter and a text that is not a string', async () => {
    expect(await errorOf(await json('PUT', '/api/notebook', { text: '' }))).toMatch(/path is missing/)
    expect(await errorOf(await json('PUT', '/api/notebook?path=notebooks/notes.md', { text: 7 }))).toMatch(/"text" must be a string/)
  })
})

describe('copy, rename, delete', () => {
  it('saves a copy of a lesson into notebooks/ under the new title, cells intact', async () => {
    const response = await json('POST', '/api/notebook/copy', { path: 'lessons/welcome.md', title: 'My first LoRA' })
    expect(response.status).toBe(201)
    expect(await response.json()).toEqual({ path: 'notebooks/my-first-lora.md', title: 'My first LoRA' })
    const copy = parseNotebook(file('notebooks/my-first-lora.md'))
    const lesson = parseNotebook(file('lessons/welcome.md'))
    expect(copy.cells[0].source).toMatch(/^# My first LoRA$/m)
    expect(copy.cells.slice(1)).toEqual(lesson.cells.slice(1))
    const loaded = await (await fetch(`${url}/api/notebook?path=notebooks/my-first-lora.md`)).json()
    expect(loaded).toMatchObject({ title: 'My first LoRA', readonly: false })
  })

  it('refuses to copy what does not exist or escapes', async () => {
    expect((await json('POST', '/api/notebook/copy', { path: 'lessons/nope.md', title: 'x' })).status).toBe(404)
    expect((await json('POST', '/api/notebook/copy', { path: '../etc/passwd', title: 'x' })).status).toBe(400)
  })

  it('renames: a new file name and heading, the old file gone', async () => {
    await json('POST', '/api/notebooks', { title: 'Draft' })
    await save('notebooks/draft.md', '# Draft\n\nBody text.\n')
    const response = await json('POST', '/api/notebook/rename', { path: 'notebooks/draft.md', title: 'Final' })
    expect(await response.json()).toEqual({ path: 'notebooks/final.md', title: 'Final' })
    expect(file('notebooks/final.md')).toBe('# Final\n\nBody text.\n')
    expect(existsSync(join(harness.root, 'notebooks/draft.md'))).toBe(false)
  })

  it('refuses to rename or delete a lesson', async () => {
    const rename = await json('POST', '/api/notebook/rename', { path: 'lessons/welcome.md', title: 'Mine' })
    expect(rename.status).toBe(403)
    const remove = await fetch(`${url}/api/notebook?path=lessons/welcome.md`, { method: 'DELETE' })
    expect(remove.status).toBe(403)
    expect(existsSync(join(harness.root, 'lessons/welcome.md'))).toBe(true)
  })

  it('deletes a notebook, then says it does not exist', async () => {
    await json('POST', '/api/notebooks', { title: 'Gone soon' })
    expect((await fetch(`${url}/api/notebook?path=notebooks/gone-soon.md`, { method: 'DELETE' })).status).toBe(204)
    expect(notebookFiles()).toEqual([])
    const again = await fetch(`${url}/api/notebook?path=notebooks/gone-soon.md`, { method: 'DELETE' })
    expect(again.status).toBe(404)
  })

  it('refuses a write from another origin', async () => {
    const response = await fetch(`${url}/api/notebooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ title: 'x' }),
    })
    expect(response.status).toBe(403)
    expect(existsSync(join(harness.root, 'notebooks'))).toBe(false)
  })
})

describe('run.start applies the saved front matter', () => {
  const notebook = '---\ntraining:\n  max_steps: 3\noptimizer:\n  lr: 0.002\n---\n\n# Defaults\n\n```train id=t\noptimizer:\n  lr: 0.0005\n```\n'

  it('merges the notebook front matter under the cell config before validating', async () => {
    mkdirSync(join(harness.root, 'notebooks'), { recursive: true })
    writeFileSync(join(harness.root, 'notebooks/d.md'), notebook)
    const client = await TestClient.connect(url)
    client.send({ type: 'run.start', notebook: 'notebooks/d.md', cell: 't', config: 'optimizer:\n  lr: 0.0005\n' })
    const { run } = await client.waitFor((m): m is Extract<typeof m, { type: 'run.accepted' }> => m.type === 'run.accepted')
    const stored = JSON.parse(readFileSync(join(harness.runsDir, run.id, 'config.json'), 'utf8'))
    expect(stored.config.training.max_steps).toBe(3)
    expect(stored.config.optimizer.lr).toBe(0.0005)
    client.close()
  })

  it('rejects a bad front-matter default, naming the front matter', async () => {
    mkdirSync(join(harness.root, 'notebooks'), { recursive: true })
    writeFileSync(join(harness.root, 'notebooks/d.md'), notebook.replace('max_steps: 3', 'max_steps: -3'))
    const client = await TestClient.connect(url)
    client.send({ type: 'run.start', notebook: 'notebooks/d.md', cell: 't', config: '' })
    const rejected = await client.waitFor((m): m is Extract<typeof m, { type: 'run.rejected' }> => m.type === 'run.rejected')
    expect(rejected.issues[0]).toMatchObject({ path: 'training.max_steps', source: 'front matter' })
    expect(rejected.issues[0].message).toMatch(/^in the notebook's front matter: training.max_steps/)
    client.close()
  })
})

describe('lesson order', () => {
  it('follows the number a file name starts with, unnumbered first', () => {
    expect(['30-schedulers.md', '10-lora.md', 'welcome.md', '9-x.md', '100-last.md'].sort(byOrder)).toEqual([
      'welcome.md',
      '9-x.md',
      '10-lora.md',
      '30-schedulers.md',
      '100-last.md',
    ])
  })
})
