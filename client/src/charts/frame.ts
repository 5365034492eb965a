// What every run chart shares: size, margins, and an x axis that spans the
// whole run from the first step, so the chart fills in rather than rescaling.
import type { PlotOptions } from '@observablehq/plot'

export const CHART_HEIGHT = 200

export const chartFrame = (width: number, totalSteps: number): PlotOptions => ({
  width,
  height: CHART_HEIGHT,
  marginLeft: 52,
  marginRight: 12,
  marginTop: 26,
  style: { background: 'transparent', color: 'var(--muted)', fontSize: '11px' },
  x: { label: 'step', domain: [0, Math.max(totalSteps, 1)] },
})

/** Learning rates read best as 1e-3, 2.5e-4; zero as 0. */
export const formatRate = (value: number) => (value === 0 ? '0' : Number(value.toPrecision(3)).toExponential())
