// Notebooks as documents, through the UI: save a copy of a lesson, edit a
// prose cell and a train cell, reload, and find the edits in the page and in
// the Markdown on disk; create, rename and delete a notebook. A project folder
// of its own (lessons copied, notebooks/ empty) keeps the repository clean.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { parse } from 'yaml'
import { parseNotebook } from '../../core/src/notebook.ts'
import { repo } from '../server/harness.ts'
import { startWorld, type World } from './browser.ts'

let world: World
beforeAll(async () => {
  world = await startWorld({ scratch: true })
})
afterAll(async () => {
  await world?.close()
})

async function open(hash: string): Promise<Page> {
  const page = await world.page(`#${hash}`)
  await page.locator('[data-testid="notebook"]').waitFor()
  return page
}

const notebookPath = (page: Page) => page.locator('[data-testid="notebook"]').getAttribute('data-path')
const saved = (page: Page) => expect.poll(() => page.locator('[data-testid="save-state"]').getAttribute('data-state')).toBe('saved')
const disk = (path: string) => readFileSync(join(world.root, path), 'utf8')

async function submitTitle(page: Page, title: string) {
  await page.locator('[data-testid="title-input"]').fill(title)
  await page.locator('[data-testid="title-submit"]').click()
}

it('saves a copy of the welcome lesson, keeps prose and config edits across a reload and on disk', async () => {
  const page = await open('lessons/welcome.md')
  await expect.poll(() => page.locator('[data-testid="readonly-banner"]').isVisible()).toBe(true)
  await page.getByRole('button', { name: 'Save a copy to edit' }).click()
  await submitTitle(page, 'My first LoRA')
  await expect.poll(() => notebookPath(page)).toBe('notebooks/my-first-lora.md')

  // Prose: double-click, type, Esc back to the rendered text.
  const prose = page.locator('[data-testid="prose"]').filter({ hasText: 'Loss and learning rate' })
  await prose.dblclick()
  const editor = page.locator('[data-testid="prose-editor"] .cm-content')
  await editor.press('Control+End')
  await page.keyboard.type('\n\nA note of my own with $x^2$.')
  await page.keyboard.press('Escape')
  await expect.poll(() => page.locator('[data-testid="prose"]').filter({ hasText: 'A note of my own' }).count()).toBe(1)
  expect(await page.locator('[data-testid="prose"] .katex').count()).toBeGreaterThan(0)

  // Train cell: completion offers the schema's fields; the edit is kept.
  await page.locator('[data-testid="train-cell"] .cm-line', { hasText: /^\s*images:/ }).click()
  await page.keyboard.press('End')
  await page.keyboard.press('Enter')
  await page.keyboard.type('reso')
  await expect.poll(() => page.locator('.cm-tooltip-autocomplete').textContent()).toContain('resolution')
  // CodeMirror ignores Enter on a popup younger than its interactionDelay (75 ms), so a fast typist's Enter is a newline.
  await page.waitForTimeout(150)
  await page.keyboard.press('Enter')
  await page.keyboard.type('32')
  await saved(page)

  const text = disk('notebooks/my-first-lora.md')
  const notebook = parseNotebook(text)
  expect(notebook.cells[0].source).toMatch(/^# My first LoRA$/m)
  expect(notebook.cells.some((c) => c.kind === 'prose' && c.source.includes('A note of my own with $x^2$.'))).toBe(true)
  const train = notebook.cells.find((c) => c.kind === 'train')!
  expect(parse(train.source).data.resolution).toBe(32)
  expect(text).toContain('```train id=first-lora\n')

  await page.reload()
  await page.locator('[data-testid="notebook"]').waitFor()
  await expect.poll(() => page.locator('[data-testid="prose"]').filter({ hasText: 'A note of my own' }).count()).toBe(1)
  expect(await page.locator('[data-testid="train-cell"] .cm-content').textContent()).toContain('resolution: 32')
  expect(disk('lessons/welcome.md')).toBe(readFileSync(join(repo, 'lessons/welcome.md'), 'utf8'))
  await page.close()
})

it('creates, renames and deletes a notebook through the UI', async () => {
  const page = await open('lessons/welcome.md')
  await page.locator('[data-testid="new-notebook"]').click()
  await submitTitle(page, 'Scratch pad')
  await expect.poll(() => notebookPath(page)).toBe('notebooks/scratch-pad.md')
  expect(disk('notebooks/scratch-pad.md')).toBe('# Scratch pad\n')
  await expect.poll(() => page.locator('[data-testid="notebook-link"]').allTextContents()).toContain('Scratch pad')

  await page.locator('[data-testid="rename"]').click()
  await submitTitle(page, 'Rank experiments')
  await expect.poll(() => notebookPath(page)).toBe('notebooks/rank-experiments.md')
  expect(existsSync(join(world.root, 'notebooks/scratch-pad.md'))).toBe(false)
  expect(disk('notebooks/rank-experiments.md')).toBe('# Rank experiments\n')
  await expect.poll(() => page.locator('[data-testid="notebook-link"]').allTextContents()).toContain('Rank experiments')

  await page.locator('[data-testid="delete-notebook"]').click()
  await page.locator('[data-testid="confirm-dialog"] [data-testid="confirm"]').click()
  await expect.poll(() => notebookPath(page)).toBe('lessons/welcome.md')
  expect(readdirSync(join(world.root, 'notebooks'))).not.toContain('rank-experiments.md')
  await expect.poll(() => page.locator('[data-testid="notebook-link"]').allTextContents()).not.toContain('Rank experiments')
  await page.close()
})
