/**
 * When to stop spawning processes straight into cgroup leaves, and when to try again. A few
 * refusals in a row (clone3 refused by a seccomp filter, a leaf made threaded…) pause it: the
 * Owner then moves each process into its leaf after the spawn. The cause may pass (another
 * execd's sweep, a policy changed), so the pause ends: 1 s, doubling at each failed retry up to
 * 10 min, all forgotten at the first spawn a leaf takes.
 */
const REFUSALS_TO_PAUSE = 3
const FIRST_PAUSE_MS = 1000
const LONGEST_PAUSE_MS = 10 * 60_000

export class LeafRefusals {
  private inARow = 0
  private pause = FIRST_PAUSE_MS
  private pausedUntil = 0

  /** @param now a clock in ms (a test's own, else the monotonic one) */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Whether the next spawn may go straight into a leaf. */
  get open(): boolean {
    return this.inARow < REFUSALS_TO_PAUSE || this.now() >= this.pausedUntil
  }

  /** A leaf refused a spawn that worked without it. */
  refused(): void {
    this.inARow++
    if (this.inARow < REFUSALS_TO_PAUSE) return
    this.pausedUntil = this.now() + this.pause
    this.pause = Math.min(this.pause * 2, LONGEST_PAUSE_MS)
  }

  /** A process was spawned into its leaf. */
  joined(): void {
    this.inARow = 0
    this.pause = FIRST_PAUSE_MS
  }
}
