/**
 * Children go before execd when memory runs out. The kernel's OOM killer takes the process with
 * the most memory of its own (RSS), raised by its oom_score_adj; it cannot see what a process
 * only makes others hold. Commands writing their output into execd's temp dir on a tmpfs (the
 * usual /tmp of a container) fill memory that is no process's: in a 400 MiB memory cgroup, two
 * such commands made execd the largest process there, and the killer took it — every command,
 * session and interpreter left without its owner, the temp dir left full.
 *
 * So every owned child starts with an oom_score_adj `CHILD_BONUS` above execd's own (at most
 * 1000): set on execd itself around each spawn, which the child inherits at fork — its own
 * children as well, however soon they are made — and set back at once. Raising a value needs no
 * privilege, nor does going back to one a privileged process did not put below (the kernel's
 * oom_score_adj_min), so this works for an unprivileged execd too. Where /proc cannot be
 * written, nothing is done.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs'

/** Half of the range's top: a child of a few MiB outranks an execd of hundreds. */
const CHILD_BONUS = 500

const PATH = '/proc/self/oom_score_adj'

interface Adjust {
  fd: number
  own: Buffer
  child: Buffer
}

let adjust: Adjust | undefined | null

function opened(): Adjust | undefined {
  if (adjust !== undefined) return adjust ?? undefined
  adjust = null
  let fd: number | undefined
  try {
    const own = Number(readFileSync(PATH, 'latin1').trim())
    if (!Number.isInteger(own)) return undefined
    const child = Math.min(1000, own + CHILD_BONUS)
    if (child === own) return undefined
    fd = openSync(PATH, 'w')
    adjust = { fd, own: Buffer.from(`${own}\n`), child: Buffer.from(`${child}\n`) }
    return adjust
  } catch {
    if (fd !== undefined) closeSync(fd)
    return undefined
  }
}

/**
 * Runs `spawn` with execd's oom_score_adj raised for the child to inherit, then puts it back.
 * A spawn returns once its child has its own memory (exec'd): the value set back is execd's
 * alone.
 */
export function withChildOomScore<T>(spawn: () => T): T {
  const a = opened()
  if (!a) return spawn()
  let raised = false
  try {
    writeSync(a.fd, a.child, 0, a.child.length, 0)
    raised = true
  } catch {
    // Refused (a read-only /proc): spawn as before, and stop trying.
    closeSync(a.fd)
    adjust = null
  }
  try {
    return spawn()
  } finally {
    if (raised) {
      try {
        writeSync(a.fd, a.own, 0, a.own.length, 0)
      } catch {
        // Not expected (going back never needs more than going up did); never try again.
        adjust = null
      }
    }
  }
}
