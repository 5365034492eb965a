#!/usr/bin/env node
// tunebook-train config.yaml [--run-dir DIR]: the headless trainer, for people
// who script experiments. Same engine and config as a train cell, with a
// terminal progress bar; events go to <run-dir>/events.jsonl.
import { spawnSync } from 'node:child_process'
import { python, root, setup } from './setup.mjs'

setup({ client: false })
const result = spawnSync(python, ['-m', 'trainer', 'train', ...process.argv.slice(2)], {
  cwd: process.env.INIT_CWD ?? process.cwd(), // npm run moves to the project root; paths are the user's
  stdio: 'inherit',
  env: { ...process.env, PYTHONPATH: [root, process.env.PYTHONPATH].filter(Boolean).join(':'), HF_HUB_OFFLINE: '1' },
})
process.exit(result.status ?? 1)
