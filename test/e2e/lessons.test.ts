// Every lesson, every cell, in a fast mode: so no lesson rots when the engine
// changes. Train cells run for real on the shipped model through the real
// server and trainer, cut to two steps (sampling and scoring kept, with two
// denoising steps); schedule and size cells are checked by the parsers their
// cells use; compare cells must name train cells of the same lesson.
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mergeDefaults } from '../../core/src/config/defaults.ts'
import { isTerminal, parseNotebook, type CodeCell, type RunEvent, type ServerMessage } from '../../core/src/index.ts'
import { parseScheduleCell } from '../../core/src/series/index.ts'
import { parseSizeCell } from '../../core/src/size/cell.ts'
import { startServer, type TunebookServer } from '../../server/src/app.ts'
import { repo, TestClient } from '../server/harness.ts'

const lessons = readdirSync(join(repo, 'lessons')).filter((name) => name.endsWith('.md')).sort()
let server: TunebookServer
let runsDir: string

beforeAll(async () => {
  runsDir = mkdtempSync(join(tmpdir(), 'tunebook-lessons-'))
  server = await startServer({ root: repo, runsDir, port: 0, host: '127.0.0.1', workerLog: () => {} })
})
afterAll(async () => {
  await server.close()
  rmSync(runsDir, { recursive: true, force: true })
})

/**
 * The cell's config, with the notebook's defaults merged in, cut short: two
 * steps (no warmup); samples and scores still drawn before and after, for one
 * prompt each, with two denoising steps; a compiled step compiled by aot_eager.
 */
function fast(frontMatter: string, source: string): string {
  const merged = mergeDefaults(frontMatter, source)
  if (!merged.ok) throw new Error(JSON.stringify(merged.issues))
  const config = parse(merged.text) ?? {}
  config.training = { ...config.training, max_steps: 2, epochs: null }
  // A warmup of whole steps cannot fit in two (nor in a restart cycle of them); a ratio scales itself.
  if (config.scheduler?.warmup_steps >= 1) config.scheduler = { ...config.scheduler, warmup_steps: 0 }
  if (config.sample?.every) config.sample = { ...config.sample, every: 2, steps: 2, prompts: config.sample.prompts?.slice(0, 1) }
  if (config.eval?.every) config.eval = { ...config.eval, every: 2, steps: 2, prompts: 1 }
  // inductor's first compile takes over a minute here; aot_eager traces the same graphs without generating code.
  if (config.training.torch_compile) config.training.dynamo_backend = 'aot_eager'
  return stringify(config)
}

describe.each(lessons)('lessons/%s', (file) => {
  const notebook = parseNotebook(readFileSync(join(repo, 'lessons', file), 'utf8'))
  const cells = notebook.cells.filter((c): c is CodeCell => c.kind !== 'prose')
  const trainIds = new Set(cells.filter((c) => c.kind === 'train').map((c) => c.id))

  it('has unique cell ids', () => {
    expect(new Set(cells.map((c) => c.id)).size).toBe(cells.length)
  })

  for (const cell of cells) {
    switch (cell.kind) {
      case 'train':
        it(`train cell ${cell.id} runs to the end`, async () => {
          const client = await TestClient.connect(server.url)
          client.send({ type: 'run.start', notebook: `lessons/${file}`, cell: cell.id, config: fast(notebook.frontMatter, cell.source) })
          const answer = await client.waitFor((m) => m.type === 'run.accepted' || m.type === 'run.rejected', 30_000)
          expect(answer.type === 'run.rejected' ? answer.issues : []).toEqual([])
          const runId = (answer as Extract<ServerMessage, { type: 'run.accepted' }>).run.id
          await client.waitFor((m) => m.type === 'run.events' && m.events.some((e) => isTerminal(e.type as never)), 240_000)
          const last = client.events(runId).at(-1) as RunEvent
          expect(last.type === 'failed' ? last.error : last.type).toBe('finished')
          client.close()
        })
        break
      case 'schedule':
        it(`schedule cell ${cell.id} parses`, () => {
          const result = parseScheduleCell(cell.source)
          expect(result.ok ? [] : result.issues).toEqual([])
        })
        break
      case 'size':
        it(`size cell ${cell.id} parses`, () => {
          expect(parseSizeCell(cell.source).issues).toEqual([])
        })
        break
      case 'compare':
        it(`compare cell ${cell.id} names train cells of this lesson`, () => {
          const named: string[] = parse(cell.source)?.cells ?? []
          expect(named.length).toBeGreaterThan(1)
          for (const id of named) expect(trainIds, `${id} is not a train cell of ${file}`).toContain(id)
        })
        break
    }
  }
})
