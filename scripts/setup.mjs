// Brings a fresh clone to a runnable state, skipping every step already done:
// JS dependencies, the Python venv (trainer/requirements.txt), the client build.
// Only Node built-ins here: this runs before node_modules exists.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))
export const python = join(root, '.venv/bin/python')

function run(cmd, args, what) {
  console.log(`setup: ${what}`)
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error(`setup failed while ${what} (${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal})`)
    process.exit(1)
  }
}

const hash = (...files) => createHash('sha256').update(files.map((f) => readFileSync(join(root, f))).join('\0')).digest('hex')

/** A step runs when its inputs' hash differs from the one stamped after it last succeeded. */
function step(stamp, inputsHash, what, action) {
  const file = join(root, stamp)
  if (existsSync(file) && readFileSync(file, 'utf8') === inputsHash) return
  action()
  writeFileSync(file, inputsHash)
  console.log(`setup: ${what} done`)
}

function newestMtime(path) {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))))
}

/** `client: false` skips the client build, for the headless trainer. */
export function setup({ client = true } = {}) {
  step('node_modules/.tunebook-setup', hash('package-lock.json'), 'JavaScript dependencies', () =>
    run('npm', ['ci', '--no-audit', '--no-fund'], 'installing JavaScript dependencies (npm ci)'),
  )
  step('.venv/.tunebook-setup', hash('trainer/requirements.txt'), 'Python environment', () => {
    if (!existsSync(python)) run('python3', ['-m', 'venv', '.venv'], 'creating the Python environment (.venv)')
    run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'trainer/requirements.txt'], 'installing the trainer\'s Python packages (pip)')
  })
  if (!client) return
  const clientInputs = ['client', 'core/src', 'vite.config.ts', 'package-lock.json'].map((p) => newestMtime(join(root, p)))
  step('dist/client/.tunebook-setup', String(Math.max(...clientInputs)), 'client build', () =>
    run(join(root, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], 'building the client (vite build)'),
  )
}

if (import.meta.url === `file://${process.argv[1]}`) setup()
