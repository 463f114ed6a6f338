/**
 * Log lines a flood of requests repeats — a 503 for each request refused at the fd or process
 * limit: at the limit every refusal wrote its line, so the log grew with the flood (and wrote
 * while the machine was out of what it needed). One line a second for each key; the next one
 * written says how many were left out since.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; skipped: number }>()

  constructor(
    private readonly everyMs = 1000,
    /** Keys are few (one per limit); past this many, start over rather than grow. */
    private readonly maxKeys = 64,
  ) {}

  /** Undefined: leave this line out; else how many were left out since the last one written. */
  admit(key: string, now = performance.now()): number | undefined {
    const seen = this.last.get(key)
    if (seen && now - seen.at < this.everyMs) {
      seen.skipped++
      return undefined
    }
    if (!seen && this.last.size >= this.maxKeys) this.last.clear()
    this.last.set(key, { at: now, skipped: 0 })
    return seen?.skipped ?? 0
  }
}
