// What every run chart shares: size, margins, and an x axis that spans the
// whole run from the first step, so the chart fills in rather than rescaling.
import type { PlotOptions } from '@observablehq/plot'
import type { Point } from '../../../core/src/series/index.ts'

export const CHART_HEIGHT = 200

/** One line of a chart and how it looks in the plot and the legend. */
export interface ChartLine {
  label: string
  points: readonly Point[]
  /** A CSS colour, e.g. var(--accent). */
  color: string
  /** Thin and pale: the raw series under a smoothed one. */
  faint?: boolean
  /** Dashed: a derived line beside a scheduled one (the effective LR). */
  dashed?: boolean
}

/** A step to mark with a dashed rule and a label (warmup ends, restart). */
export interface ChartMarker {
  step: number
  label: string
}

/** Colours of overlaid lines (runs, schedules), in order; they follow the theme. */
export const SERIES_COLORS = ['var(--accent)', 'var(--lr)', 'var(--ok)', 'var(--bad)', 'var(--warn)', 'var(--muted)']
export const seriesColor = (i: number) => SERIES_COLORS[i % SERIES_COLORS.length]

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

/** A 0-to-1 score axis (fidelity, retention) that still stretches for a score above 1: 0% to 100% always shows. */
export const scoreAxis = (lines: readonly ChartLine[]) => ({
  domain: [0, Math.max(1, ...lines.flatMap((line) => line.points.map((p) => p.value)))],
  tickFormat: '.0%',
})
