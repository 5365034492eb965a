// Series: pure derivations from run events to what charts and progress bars draw.
export * from './loss.ts'
export * from './progress.ts'
