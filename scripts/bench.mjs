// npm run bench: measure what the issues set as speed and memory targets and
// write one JSON report, bench/results/latest.json. Speeds are ratios against
// a baseline measured in the same run, so a busy machine slows both alike.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { benchCharts } from './bench-charts.mjs'
import { python, root, setup } from './setup.mjs'

setup()
const report = { date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length } }

function pythonBench(name, module) {
  console.log(`bench: ${name} ...`)
  const result = spawnSync(python, ['-m', module], { cwd: root, encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] })
  if (result.status !== 0) throw new Error(`${module} failed with ${result.status}`)
  report[name] = JSON.parse(result.stdout)
}

pythonBench('trainer', 'trainer.bench')
console.log('bench: training watched by 50 clients ...')
const watchers = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/bench-watchers.ts')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
if (watchers.status !== 0) throw new Error(`bench-watchers failed with ${watchers.status}`)
report.watchers = JSON.parse(watchers.stdout)
console.log('bench: chart redraws in Chromium ...')
report.charts = await benchCharts(root)

mkdirSync(join(root, 'bench/results'), { recursive: true })
const out = join(root, 'bench/results/latest.json')
writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
console.log(JSON.stringify(report, null, 2))
console.log(`wrote ${out}`)
