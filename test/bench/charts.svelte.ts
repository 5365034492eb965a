// The chart redraw benchmark's page (scripts/bench-charts.mjs builds and drives
// it): the app's own RunState holding a 100k-step run, and the real SeriesChart
// drawing its loss, raw and smoothed, as a train cell does. Each frame one step
// event arrives; a redraw is the work it causes: folding the event into the
// run's series, smoothing, thinning, then Plot drawing them.
import { flushSync, mount } from 'svelte'
import '../../client/src/app.css'
import SeriesChart from '../../client/src/charts/SeriesChart.svelte'
import type { RunEvent } from '../../core/src/protocol.ts'
import { RunState } from '../../client/src/state/run.svelte.ts'

const TOTAL = 110_000
const loss = (step: number) => 0.1 + 0.05 * Math.exp(-step / 20000) + 0.03 * Math.sin(step * 12.9898) ** 2 + (step % 9973 === 0 ? 0.3 : 0)
const stepEvent = (step: number): RunEvent => ({ type: 'step', time: step, step, total: TOTAL, loss: loss(step), lr: 1e-4, lrs: [1e-4], grad_norm: 1, seconds: step / 10 })

const run = new RunState({ id: 'bench', notebook: 'bench.md', cell: 'bench', status: 'running', created: 0 })
run.receive([{ type: 'started', time: 0, total: TOTAL, trainable_params: 1, device: 'cpu' }, ...Array.from({ length: 100_000 }, (_, i) => stepEvent(i + 1))], true)
mount(SeriesChart, {
  target: document.getElementById('chart')!,
  props: {
    get lines() {
      return [
        { label: 'raw', points: run.loss, color: 'var(--raw)', faint: true },
        { label: 'smoothed', points: run.lossSmooth, color: 'var(--accent)' },
      ]
    },
    total: TOTAL,
    y: { nice: true },
    testid: 'bench-chart',
    empty: '',
    title: 'Loss',
  },
})

const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve))

/** Time `frames` redraws; each is caused by one new step event, as the server streams them. */
async function bench(frames: number): Promise<{ points: number; ms: number[]; deriveMs: number[] }> {
  await frame()
  await frame()
  const ms: number[] = []
  const deriveMs: number[] = []
  for (let i = 0; i < frames; i++) {
    await frame()
    // We are in frame N's callbacks, so every requestAnimationFrame below runs in
    // frame N+1, in this order: `start`, PlotFrame's draw, `end`.
    let start = 0
    requestAnimationFrame(() => (start = performance.now()))
    const t0 = performance.now()
    run.receive([stepEvent(run.loss.length + 1)], false)
    flushSync() // fold, smooth and thin now, as Svelte would before the frame
    const derived = performance.now() - t0
    const end = await new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now())))
    ms.push(derived + (end - start))
    deriveMs.push(derived)
  }
  return { points: run.loss.length, ms, deriveMs }
}

;(window as unknown as { bench: typeof bench }).bench = bench
