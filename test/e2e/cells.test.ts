// The schedule, train and compare cells in Chromium, on a notebook of one
// cell of each kind (test/fixtures/notebooks/cells.md) with tiny runs.
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { repo } from '../server/harness.ts'
import { startWorld, type World } from './browser.ts'

const name = `e2e-cells-${process.pid}.md`
const notebook = join(repo, 'notebooks', name)
let world: World
beforeAll(async () => {
  copyFileSync(join(repo, 'test/fixtures/notebooks/cells.md'), notebook)
  world = await startWorld()
})
afterAll(async () => {
  await world?.close()
  rmSync(notebook, { force: true })
})

const cell = (page: Page, id: string) => page.locator(`[data-cell-id="${id}"]`)
const points = async (page: Page, id: string, chart: string) => Number(await cell(page, id).locator(`[data-testid="${chart}"]`).getAttribute('data-points'))
const open = () => world.page(`#notebooks/${name}`)

async function runToEnd(page: Page, id: string) {
  await cell(page, id).locator('[data-testid="run"]').click()
  await expect.poll(() => cell(page, id).locator('[data-testid="run-status"]').textContent(), { timeout: 90_000 }).toBe('finished')
}

it('redraws a schedule as its YAML is edited, with no run', async () => {
  const page = await open()
  await expect.poll(() => points(page, 'warmup-cosine', 'schedule-chart')).toBe(100)
  expect(await cell(page, 'warmup-cosine').locator('[data-testid="step-formula"]').textContent()).toContain('× 2 epochs = 100 steps')
  const legend = await cell(page, 'warmup-cosine').locator('[data-testid="schedule-chart"]').locator('xpath=..').locator('figcaption').textContent()
  expect(legend).toContain('cosine_with_restarts')

  // Change epochs 2 -> 5 by typing into the editor, as a person would.
  await cell(page, 'warmup-cosine').locator('.cm-line', { hasText: 'epochs: 2' }).click()
  await page.keyboard.press('End')
  await page.keyboard.press('Backspace')
  await page.keyboard.type('5')
  await expect.poll(() => points(page, 'warmup-cosine', 'schedule-chart')).toBe(250)
  expect(await cell(page, 'warmup-cosine').locator('[data-testid="step-formula"]').textContent()).toContain('= 250 steps')

  await page.keyboard.type('x')
  await expect.poll(() => cell(page, 'warmup-cosine').locator('[data-testid="config-issues"]').textContent()).toContain('steps.epochs')
  await page.close()
})

it('runs a train cell: charts, samples with a lightbox, and a summary', async () => {
  const page = await open()
  await runToEnd(page, 'lora-r8')
  const train = cell(page, 'lora-r8')
  expect(await points(page, 'lora-r8', 'loss-chart')).toBe(8)
  expect(await points(page, 'lora-r8', 'lr-chart')).toBe(8)
  expect(await points(page, 'lora-r8', 'grad-norm-chart')).toBe(8)
  expect(await points(page, 'lora-r8', 'eval-chart')).toBe(3) // before the first step, at 4 and at 8

  // sample.every 4 over 8 steps: the base model, step 4 and step 8, two prompts each, all served.
  await expect.poll(() => train.locator('[data-testid="filmstrip"]').getAttribute('data-frames')).toBe('3')
  const samples = train.locator('[data-testid="sample"]')
  expect(await samples.count()).toBe(6)
  await expect.poll(() => samples.last().evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(64)
  await samples.first().click()
  const lightbox = train.locator('[data-testid="lightbox"]')
  await expect.poll(() => lightbox.isVisible()).toBe(true)
  expect(await lightbox.textContent()).toMatch(/a large red star.*seed 1.*base model/s)
  await page.keyboard.press('Escape')
  await expect.poll(() => lightbox.isVisible()).toBe(false)

  const summary = train.locator('[data-testid="run-summary"]')
  expect(await summary.textContent()).toMatch(/steps\s*8/)
  await expect.poll(() => summary.locator('[data-testid="adapter-size"]').textContent()).toMatch(/\d+(\.\d)? kB/)
  expect(await summary.locator('a[download]').getAttribute('href')).toMatch(/^\/runs\/.+\/adapter\.safetensors$/)

  // The smoothing slider starts at the weight that suits the run's length and follows the hand.
  const slider = train.locator('[data-testid="smoothing"]')
  expect(await slider.inputValue()).toBe('0.6')
  await slider.fill('0.9')
  await expect.poll(() => slider.locator('xpath=following-sibling::span').textContent()).toBe('0.90')
  await page.close()
})

it('compares the latest runs of two train cells', async () => {
  const page = await open()
  await runToEnd(page, 'lokr-f8')
  const compare = cell(page, 'lora-vs-lokr')
  // The first load (on open) found no lokr-f8 run yet; the run ending on this page reloads it, no Refresh needed.
  await expect.poll(() => compare.locator('figcaption').first().textContent()).toMatch(/lora-r8.*lokr-f8/)
  expect(await points(page, 'lora-vs-lokr', 'compare-loss-chart')).toBe(8) // lora-r8's 8 steps come first
  expect(await points(page, 'lora-vs-lokr', 'compare-fidelity-chart')).toBe(3)
  const metrics = await compare.locator('[data-testid="compare-metrics"]').textContent()
  expect(metrics).toMatch(/steps\s*8\s*6/)
  const differing = await compare.locator('[data-testid="compare-config"] tr[data-differs="true"] th').allTextContents()
  expect(differing).toEqual(expect.arrayContaining(['method.name', 'training.max_steps', 'scheduler.name']))
  expect(differing).not.toContain('data.concept')
  await page.close()
})
