// npm test: set everything up, then run every suite — vitest (core, server),
// pytest (trainer), and the end-to-end tests in Debian's Chromium — and end
// with one line of passed/failed counts over all of them.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { python, root, setup } from './setup.mjs'

setup()
const out = join(root, 'test-results')
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

const suites = [
  {
    name: 'vitest (core, server, e2e)',
    cmd: join(root, 'node_modules/.bin/vitest'),
    args: ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${join(out, 'vitest.json')}`],
    counts: () => {
      const report = JSON.parse(readFileSync(join(out, 'vitest.json'), 'utf8'))
      return { passed: report.numPassedTests, failed: report.numFailedTests + (report.success ? 0 : report.numFailedTestSuites) }
    },
  },
  {
    name: 'pytest (trainer)',
    cmd: python,
    args: ['-m', 'pytest', 'test/trainer', '-q', `--junitxml=${join(out, 'pytest.xml')}`],
    counts: () => {
      const xml = readFileSync(join(out, 'pytest.xml'), 'utf8')
      const attr = (name) => Number(new RegExp(`<testsuite[^>]*\\s${name}="(\\d+)"`).exec(xml)?.[1] ?? 0)
      const failed = attr('failures') + attr('errors')
      return { passed: attr('tests') - failed - attr('skipped'), failed }
    },
  },
]

if (!existsSync('/usr/bin/chromium')) {
  console.error("The end-to-end tests need Debian's Chromium at /usr/bin/chromium: apt-get install -y chromium")
}

let passed = 0
let failed = 0
for (const suite of suites) {
  console.log(`\n=== ${suite.name}`)
  const result = spawnSync(suite.cmd, suite.args, { cwd: root, stdio: 'inherit', env: { ...process.env, HF_HUB_OFFLINE: '1' } })
  let counts
  try {
    counts = suite.counts()
  } catch {
    counts = { passed: 0, failed: 1 } // the runner itself broke before reporting
  }
  if (result.status !== 0 && counts.failed === 0) counts.failed = 1
  passed += counts.passed
  failed += counts.failed
}
console.log(`\n${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
