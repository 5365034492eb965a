// Importing an sd-scripts / kohya_ss config through the UI: in a new notebook,
// "Import kohya config" takes a real kohya_ss preset and adds a
// train cell with the imported YAML, saved to disk; a broken file shows an
// error naming it. A project folder of its own keeps the repository clean.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { parseNotebook } from '../../core/src/notebook.ts'
import { repo } from '../server/harness.ts'
import { startWorld, type World } from './browser.ts'

const PRESET = join(repo, 'test/fixtures/interop/kohya_ss-SDXL-LoHA-AI_Characters-v1.0.json')

let world: World
beforeAll(async () => {
  world = await startWorld({ scratch: true })
})
afterAll(async () => {
  await world?.close()
})

it('imports a kohya_ss preset into a notebook as a train cell, and names a broken file', async () => {
  const page = await world.page()
  await page.locator('[data-testid="new-notebook"]').click()
  await page.locator('[data-testid="title-input"]').fill('Imported')
  await page.locator('[data-testid="title-submit"]').click()
  await expect.poll(() => page.locator('[data-testid="notebook"]').getAttribute('data-path')).toBe('notebooks/imported.md')

  await page.locator('[data-testid="import-config"]').click()
  await page.locator('[data-testid="import-files"]').setInputFiles({ name: 'broken.toml', mimeType: 'text/plain', buffer: Buffer.from('network_dim = [\n') })
  await expect.poll(() => page.locator('[data-testid="import-error"]').textContent()).toMatch(/^broken.toml: line 2, column \d+: /)
  if (process.env.TUNEBOOK_SCREENSHOTS) await page.screenshot({ path: join(process.env.TUNEBOOK_SCREENSHOTS, 'import-error.png') })

  await page.locator('[data-testid="import-files"]').setInputFiles(PRESET)
  const cell = page.locator('[data-testid="train-cell"]')
  await expect.poll(() => cell.count()).toBe(1)
  await expect.poll(() => page.locator('[data-testid="import-panel"]').count()).toBe(0)
  // The editor draws only the lines in view: the comment block at the top, scrolled into view.
  await expect.poll(() => cell.locator('.cm-content').textContent()).toContain('Imported from kohya_ss-SDXL-LoHA-AI_Characters-v1.0.json')
  await expect.poll(() => cell.evaluate((el) => el.getBoundingClientRect().top < innerHeight)).toBe(true)
  if (process.env.TUNEBOOK_SCREENSHOTS) await page.screenshot({ path: join(process.env.TUNEBOOK_SCREENSHOTS, 'import-cell.png') })

  // Saved: the notebook on disk holds the cell, the not-imported list at its top.
  await expect.poll(() => page.locator('[data-testid="save-state"]').getAttribute('data-state')).toBe('saved')
  const saved = parseNotebook(readFileSync(join(world.root, 'notebooks/imported.md'), 'utf8')).cells.find((c) => c.kind === 'train')!
  expect(saved.source).toMatch(/^# Imported from kohya_ss-SDXL-LoHA-AI_Characters-v1.0.json/)
  expect(saved.source).toContain('#   xformers = true (tunebook always uses PyTorch SDPA attention)')
  expect(saved.source).toMatch(/^ {2}conv_rank: 16$/m)
  await page.close()
})
