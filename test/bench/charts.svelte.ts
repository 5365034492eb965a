// The chart redraw benchmark's page (scripts/bench-charts.mjs builds and drives
// it): the real SeriesChart with a loss line of 100k steps, raw and smoothed,
// as a long run's loss chart draws it. Each frame one step arrives; a redraw
// is the work it causes: deriving and thinning the lines, then Plot drawing them.
import { flushSync, mount } from 'svelte'
import '../../client/src/app.css'
import SeriesChart from '../../client/src/charts/SeriesChart.svelte'
import type { ChartLine } from '../../client/src/charts/frame.ts'
import { smoothSeries, type Point } from '../../core/src/series/index.ts'

const loss = (step: number) => 0.1 + 0.05 * Math.exp(-step / 20000) + 0.03 * Math.sin(step * 12.9898) ** 2 + (step % 9973 === 0 ? 0.3 : 0)

let raw: Point[] = Array.from({ length: 100_000 }, (_, i) => ({ step: i + 1, value: loss(i + 1) }))
// Raw, as the app's series are: derived plain arrays, never deep proxies.
let lines = $state.raw(linesOf(raw))
mount(SeriesChart, {
  target: document.getElementById('chart')!,
  props: { get lines() { return lines }, total: 110_000, y: { nice: true }, testid: 'bench-chart', empty: '', title: 'Loss' },
})

function linesOf(points: Point[]): ChartLine[] {
  return [
    { label: 'raw', points, color: 'var(--raw)', faint: true },
    { label: 'smoothed', points: smoothSeries(points, 0.98), color: 'var(--accent)' },
  ]
}

const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve))

/** Time `frames` redraws; each adds one step (a new array, as RunState replaces its events). */
async function run(frames: number): Promise<{ points: number; ms: number[]; deriveMs: number[] }> {
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
    raw = [...raw, { step: raw.length + 1, value: loss(raw.length + 1) }]
    lines = linesOf(raw)
    flushSync() // derive and thin now, as Svelte would before the frame
    const derived = performance.now() - t0
    const end = await new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now())))
    ms.push(derived + (end - start))
    deriveMs.push(derived)
  }
  return { points: raw.length, ms, deriveMs }
}

;(window as unknown as { bench: typeof run }).bench = run
