/**
 * One lane's search for a failure not known yet: fast-check runs seeded cases until one shows
 * such a violation, shrinks it within a budget, and gives the smallest it found (null: none
 * before the deadline). The HTTP campaign and the CLI's share it.
 */
import fc from 'fast-check'
import type { Violation } from './check'

export interface FirstFailureOptions<C> {
  seed: number
  /** Epoch ms after which no new case starts. */
  deadline: number
  /** ms past the deadline a shrink may go on. */
  graceMs: number
  /** Cases tried while shrinking, at most. */
  shrinkBudget: number
  known: (c: C, v: Violation) => boolean
}

export async function firstNewFailure<C>(
  arb: fc.Arbitrary<C>,
  runOne: (c: C) => Promise<Violation[]>,
  o: FirstFailureOptions<C>,
): Promise<{ c: C; v: Violation[] } | null> {
  let last: { c: C; v: Violation[] } | null = null
  let shrinks = 0
  // fast-check's time limit races the running case and returns without it: the lane waits
  // for its straggler, so no more than `lanes` cases are ever in flight (or left running).
  let straggler: Promise<unknown> = Promise.resolve()
  await fc.check(
    fc.asyncProperty(arb, c => {
      const run = (async () => {
        if (last && ++shrinks > o.shrinkBudget) return true
        if (Date.now() > o.deadline + o.graceMs) return true
        const fresh = (await runOne(c)).filter(v => !o.known(c, v))
        if (fresh.length === 0) return true
        last = { c, v: fresh }
        return false
      })()
      straggler = run
      return run
    }),
    {
      seed: o.seed,
      numRuns: Number.MAX_SAFE_INTEGER,
      interruptAfterTimeLimit: Math.max(1, o.deadline - Date.now()),
      markInterruptAsFailure: false,
    },
  )
  await straggler.catch(() => {})
  return last
}

/**
 * Lane `lane`'s search, again and again from seeds of its own, until the deadline: each new
 * failure found is handed to `found`.
 */
export async function newFailuresUntilDeadline<C>(
  arb: fc.Arbitrary<C>,
  runOne: (c: C) => Promise<Violation[]>,
  lane: number,
  o: FirstFailureOptions<C>,
  found: (c: C, v: Violation[]) => void,
): Promise<void> {
  for (let k = 0; Date.now() < o.deadline; k++) {
    const failure = await firstNewFailure(arb, runOne, { ...o, seed: o.seed + lane * 7919 + k * 104729 })
    if (failure) found(failure.c, failure.v)
  }
}
