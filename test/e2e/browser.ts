// End-to-end setup: the real server with the real Python trainer worker over
// this repository (a temporary runs/ folder), and Debian's Chromium driven by
// playwright-core. No browser is ever downloaded.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startServer, type TunebookServer } from '../../server/src/app.ts'
import { repo } from '../server/harness.ts'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface World {
  server: TunebookServer
  browser: Browser
  runsDir: string
  workerLog: string[]
  page(path?: string): Promise<Page>
  close(): Promise<void>
}

export async function startWorld(): Promise<World> {
  const runsDir = mkdtempSync(join(tmpdir(), 'tunebook-e2e-runs-'))
  const workerLog: string[] = []
  const server = await startServer({ root: repo, runsDir, port: 0, host: '127.0.0.1', workerLog: (t) => workerLog.push(t) })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const pages: Page[] = []
  return {
    server,
    browser,
    runsDir,
    workerLog,
    async page(path = '#lessons/welcome.md') {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      page.on('pageerror', (e) => console.error(`page error: ${e.message}`))
      pages.push(page)
      await page.goto(`${server.url}/${path}`)
      return page
    },
    async close() {
      await browser.close()
      await server.close()
      rmSync(runsDir, { recursive: true, force: true })
    },
  }
}
