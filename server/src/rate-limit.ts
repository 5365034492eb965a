// A sliding-window limit: at most `limit` events in any `windowMs`. It keeps a
// client's run.start from flooding the queue; everyone else is unaffected.
export class RateLimit {
  private times: number[] = []

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private now: () => number = Date.now,
  ) {}

  /** Record one event if the window has room; false means refuse it. */
  take(): boolean {
    const t = this.now()
    this.times = this.times.filter((time) => t - time < this.windowMs)
    if (this.times.length >= this.limit) return false
    this.times.push(t)
    return true
  }
}
