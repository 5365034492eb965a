import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { readdirSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startWorld, type World } from './browser.ts'

let world: World
beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => {
  await world?.close()
})

const cell = (page: Page) => page.locator('[data-testid="train-cell"][data-cell-id="first-lora"]')
const status = (page: Page) => cell(page).locator('[data-testid="run-status"]')
const lossPoints = async (page: Page) => Number(await cell(page).locator('[data-testid="loss-chart"]').getAttribute('data-points'))

/** Replace the cell's YAML by typing into its CodeMirror editor, as a person would. */
async function setConfig(page: Page, yaml: string) {
  const editor = cell(page).locator('.cm-content')
  await editor.click()
  await page.keyboard.press('Control+A')
  await page.keyboard.press('Delete')
  await editor.evaluate((el, text) => {
    // CodeMirror re-indents typed newlines; insert the text as one paste instead.
    const data = new DataTransfer()
    data.setData('text/plain', text)
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
  }, yaml)
}

/** Run the cell with this YAML to the end; the id of the run it made. */
async function runToEnd(page: Page, yaml: string): Promise<string> {
  const runsBefore = new Set(readdirSync(world.runsDir))
  await setConfig(page, yaml)
  await cell(page).locator('[data-testid="run"]').click()
  await expect.poll(() => status(page).textContent(), { timeout: 60_000 }).toBe('finished')
  return readdirSync(world.runsDir).find((id) => !runsBefore.has(id))!
}

it('lists the lessons and opens the welcome lesson', async () => {
  const page = await world.page('')
  await expect.poll(() => page.locator('[data-testid="lesson-link"]').allTextContents()).toContain('Welcome: your first LoRA')
  await expect.poll(() => cell(page).count()).toBe(1)
  expect(await cell(page).locator('.cm-content').textContent()).toContain('rank: 8')
  await page.close()
})

it('runs the train cell, draws the loss live, and shows the same chart after a reload', async () => {
  const page = await world.page()
  await cell(page).locator('[data-testid="run"]').click()
  // 150 steps with 7 rounds of samples and 4 of scoring: about 30 s on an idle 2-core machine; generous for a busy one.
  await expect.poll(() => status(page).textContent(), { timeout: 240_000 }).toBe('finished')
  const points = await lossPoints(page)
  expect(points).toBeGreaterThanOrEqual(20)
  expect(Number(await cell(page).locator('[data-testid="lr-chart"]').getAttribute('data-points'))).toBe(points)

  const [runId] = readdirSync(world.runsDir)
  expect(existsSync(join(world.runsDir, runId, 'adapter.safetensors'))).toBe(true)
  expect(existsSync(join(world.runsDir, runId, 'log.txt'))).toBe(true)
  // the cell trains the word "star": its own embedding file, for ComfyUI, is offered beside the adapter
  const word = cell(page).locator('[data-testid="word-files"] a')
  await expect.poll(() => word.textContent()).toBe('star.safetensors')
  const download = await fetch(new URL(String(await word.getAttribute('href')), page.url()))
  expect(download.headers.get('content-disposition')).toBe('attachment; filename=star.safetensors')

  await page.reload()
  await expect.poll(() => status(page).textContent(), { timeout: 20_000 }).toBe('finished')
  await expect.poll(() => lossPoints(page)).toBe(points)
  await page.close()
})

it('cancels a run, marks it cancelled, and the next run finishes', async () => {
  const page = await world.page()
  await setConfig(page, 'training:\n  max_steps: 5000\n')
  await cell(page).locator('.cm-content').press('Shift+Enter')
  await expect.poll(() => lossPoints(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(2)
  await cell(page).locator('[data-testid="cancel"]').click()
  await expect.poll(() => status(page).textContent(), { timeout: 20_000 }).toBe('cancelled')
  expect(await lossPoints(page)).toBeLessThan(5000)

  await setConfig(page, 'training:\n  max_steps: 8\n')
  await cell(page).locator('[data-testid="run"]').click()
  await expect.poll(() => status(page).textContent(), { timeout: 60_000 }).toBe('finished')
  await expect.poll(() => lossPoints(page)).toBe(8) // published once drawn, an animation frame after the status
  await page.close()
})

it('saves the adapter along the way and offers each for download', async () => {
  const page = await world.page()
  const runId = await runToEnd(page, 'training:\n  max_steps: 8\n  save_every: 3\n')
  // Steps 3 and 6; step 8 is the run's last, so it is the final adapter.safetensors.
  expect(readdirSync(join(world.runsDir, runId, 'adapters'))).toEqual(['step-00000003.safetensors', 'step-00000006.safetensors'])

  const saved = cell(page).locator('[data-testid="saved-adapters"]')
  await expect.poll(() => saved.textContent()).toMatch(/Saved along the way:\s*step 3 · step 6\b/)
  const links = saved.locator('a[download]')
  expect(await links.count()).toBe(2)
  const href = (await links.first().getAttribute('href'))!
  expect(href).toBe(`/runs/${runId}/adapters/step-00000003.safetensors`)
  expect(await links.first().getAttribute('title')).toMatch(/complete adapter of this run as it was at step 3/)

  // What the link serves is the file on disk: a whole safetensors file, metadata included.
  const served = Buffer.from(await (await fetch(world.server.url + href)).arrayBuffer())
  expect(served).toEqual(readFileSync(join(world.runsDir, runId, 'adapters', 'step-00000003.safetensors')))
  const header = JSON.parse(served.subarray(8, 8 + Number(served.readBigUInt64LE(0))).toString())
  expect(Object.keys(header.__metadata__ ?? {}).length).toBeGreaterThan(0)
  await page.close()
})

it("trains on from an earlier run's adapter and says what it loaded", async () => {
  const page = await world.page()
  const first = await runToEnd(page, 'training:\n  max_steps: 2\n')
  await runToEnd(page, `method:\n  start_from: ${first}\ntraining:\n  max_steps: 2\n`)
  await expect.poll(() => cell(page).locator('[data-testid="started-from"]').textContent()).toMatch(/Started from adapter\.safetensors: \d+ tensors loaded\./)
  await page.close()
})

it('shows an invalid config inline, naming the YAML path, and runs nothing', async () => {
  const page = await world.page()
  const runsBefore = readdirSync(world.runsDir).length
  await setConfig(page, 'optimizer:\n  lr: -0.5\n')
  await cell(page).locator('[data-testid="run"]').click()
  await expect.poll(() => cell(page).locator('[data-testid="config-issues"]').textContent()).toContain('optimizer.lr')
  expect(readdirSync(world.runsDir).length).toBe(runsBefore)
  await page.close()
})
