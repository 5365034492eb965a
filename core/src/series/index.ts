// Series: pure derivations from run events to what charts and progress bars draw.
export * from './loss.ts'
export * from './progress.ts'
export * from './thin.ts'
export * from './metrics.ts'
export * from './run-view.ts'
export * from './compare.ts'
export * from './schedule-cell.ts'
