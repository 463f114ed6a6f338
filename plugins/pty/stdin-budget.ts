/**
 * Stdin held for programs that do not read it, counted across all of a store's terminals. Each
 * terminal keeps at most its own backlog (session.ts), but 64 terminals at 64 MiB each could hold
 * 4 GiB of execd's memory; together they keep at most this budget, as proxied WebSockets do.
 */
const ALL_TERMINALS_BACKLOG = 256 << 20

export class StdinBudget {
  private held = 0

  constructor(readonly max = ALL_TERMINALS_BACKLOG) {}

  /** Whether `n` more bytes may be held; if so they are counted. */
  take(n: number): boolean {
    if (this.held + n > this.max) return false
    this.held += n
    return true
  }

  give(n: number): void {
    this.held = Math.max(0, this.held - n)
  }
}
