// End-to-end setup: the real server and Debian's Chromium driven by
// playwright-core. No browser is ever downloaded.
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startServer, type TunebookServer } from '../../server/src/app.ts'
import { fakeWorker, repo } from '../server/harness.ts'

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
  /** The project folder the server serves: the repository, or a scratch copy. */
  root: string
  runsDir: string
  workerLog: string[]
  page(path?: string): Promise<Page>
  close(): Promise<void>
}

/**
 * By default the server runs over this repository with the real Python trainer
 * worker (runs go to a temporary folder). `scratch`: over a temporary project
 * of its own (lessons copied, notebooks/ empty) with the fake worker, for tests
 * of the workbench that write notebooks but train nothing; the repository stays clean.
 */
export async function startWorld({ scratch = false } = {}): Promise<World> {
  const runsDir = mkdtempSync(join(tmpdir(), 'tunebook-e2e-runs-'))
  const root = scratch ? mkdtempSync(join(tmpdir(), 'tunebook-e2e-project-')) : repo
  if (scratch) {
    cpSync(join(repo, 'lessons'), join(root, 'lessons'), { recursive: true })
    symlinkSync(join(repo, 'dist'), join(root, 'dist'))
  }
  const workerLog: string[] = []
  const server = await startServer({ root, runsDir, port: 0, host: '127.0.0.1', workerLog: (t) => workerLog.push(t), ...(scratch && { workerCommand: fakeWorker }) })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const pages: Page[] = []
  return {
    server,
    browser,
    root,
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
      if (scratch) rmSync(root, { recursive: true, force: true })
    },
  }
}
