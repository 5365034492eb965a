// Chart redraw benchmark: builds test/bench (the real SeriesChart fed a 100k-step
// loss line), opens it in Debian's Chromium, and times 50 redraws, each caused
// by one new step. The target: a redraw takes at most 16 ms.
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { chromium } from 'playwright-core'
import { build } from 'vite'

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const FRAMES = 50
const TARGET_MS = 16

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]

export async function benchCharts(root) {
  const out = mkdtempSync(join(tmpdir(), 'tunebook-bench-charts-'))
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://bench').pathname
    const file = join(out, normalize(path === '/' ? 'index.html' : path))
    let body
    try {
      body = readFileSync(file)
    } catch {
      return void res.writeHead(404).end()
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body)
  })
  let browser
  try {
    await build({ root: join(root, 'test/bench'), base: './', logLevel: 'warn', plugins: [svelte()], build: { outDir: out, emptyOutDir: true } })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`http://127.0.0.1:${server.address().port}/`)
    await page.waitForFunction(() => 'bench' in window && document.querySelector('[data-testid="bench-chart"] svg'))
    const { points, ms, deriveMs } = await page.evaluate((frames) => window.bench(frames), FRAMES)
    const drawn = Number(await page.locator('[data-testid="bench-chart"]').getAttribute('data-points'))
    if (drawn !== points) throw new Error(`the chart drew ${drawn} points, expected ${points}`)
    const sorted = [...ms].sort((a, b) => a - b)
    const round = (x) => Math.round(x * 100) / 100
    return { points, frames: FRAMES, median_ms: round(quantile(sorted, 0.5)), p95_ms: round(quantile(sorted, 0.95)), max_ms: round(sorted.at(-1)), derive_median_ms: round(quantile([...deriveMs].sort((a, b) => a - b), 0.5)), target_ms: TARGET_MS, within_target: quantile(sorted, 0.95) <= TARGET_MS }
  } finally {
    await browser?.close()
    server.close()
    rmSync(out, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchCharts(join(import.meta.dirname, '..')), null, 2))
}
