/** How a kill waits for an owner (core/ownership.ts) to be gone, and makes sure it is. */
import type { Owner } from './ownership'
import { sleep, within } from './timers'

/** True once the leader has exited and nothing of the owner runs, or false after `limitMs`. */
export async function gone(owner: Owner, leaderExited: Promise<unknown>, limitMs: number): Promise<boolean> {
  const deadline = performance.now() + limitMs
  // within() clears its timer once the leader is gone: a finished kill does not delay a CLI's exit.
  if ((await within(leaderExited, limitMs)) === 'timeout') return false
  for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
    if (!(await owner.populated())) return true
    if (performance.now() >= deadline) return false
    // A plain sleep, not an unref'd timer: a shutdown awaiting this must not end early for want
    // of a pending timer.
    await sleep(Math.min(delay, deadline - performance.now()))
  }
}

/** SIGKILL whatever of the owner is still found, until nothing is or `limitMs` passed. */
export async function killUntilGone(owner: Owner, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs
  for (let delay = 5; (await owner.populated()) && performance.now() < deadline; delay = Math.min(delay * 2, 50)) {
    await owner.signal('SIGKILL')
    await sleep(delay)
  }
}
