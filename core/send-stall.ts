/**
 * The stall rule of an answer that holds something while it is sent (a --max-walks slot and the
 * entries of a listing, a --max-streams slot, a download's copy or its bytes in memory): a
 * client that takes nothing for STALL_MS while a request wants what its answer holds has its
 * connection reset, so that the slot is given back; one that takes nothing for CEILING_MS is
 * reset whether or not anyone wants it. Bun closes a connection on which nothing was written
 * for its idleTimeout (core/connections.ts), which let four clients that never read a
 * 60,000-entry listing refuse every other walk for 124 s; the rule is execd's own, logged, and
 * the same for every such answer, downloads written by execd included (core/socket-body.ts).
 *
 * "Takes nothing" is read from the kernel, not from the pulls of a stream: the bytes the client
 * acknowledged (TCP_INFO's tcpi_bytes_acked) have not grown while some wait in the send queue.
 * A slow reader looks the same for minutes: its kernel reopens a shut window only once a good
 * part of its buffer is read, and meanwhile answers the sender's probes with a shut window, as
 * the kernel of a client that reads nothing does (tcpi_snd_wnd 0, probes answered, for both:
 * stop 52). A download read at 1 KiB/s was cut 153 s into the 120 s rule. So slowness alone
 * ends nothing short of the ceiling; a want does (core/slot-wants.ts), the longest stalled
 * first, and the client that has read nothing the longest is the one whose slot goes.
 *
 * Every guarded connection is looked at by one timer each LOOK_MS (core/shared-interval.ts),
 * none while there are none.
 */
import { closeSync } from 'node:fs'
import type { Answer } from './answering'
import { heldConnectionSoon, type Sockets } from './connection-fd'
import { PERIODS } from './periods'
import { shareInterval } from './shared-interval'
import type { Wanted } from './slot-wants'

/** A client that takes nothing for this long is dropped when its slot is wanted, as Bun drops a silent one. */
export const STALL_MS = PERIODS.stall
/** A client that takes nothing for this long is dropped, wanted or not. */
export const CEILING_MS = Math.max(PERIODS.stallCeiling, STALL_MS)
/** How often the guarded connections are looked at. */
const LOOK_MS = Math.min(1000, STALL_MS / 4)

const IPPROTO_TCP = 6
const TCP_INFO = 11
/** struct tcp_info's tcpi_bytes_acked (Linux 4.2+), a u64. */
const BYTES_ACKED_AT = 120
/** The bytes a socket's send queue holds (ioctl). */
export const TIOCOUTQ = 0x5411
const AF_UNSPEC = new Uint8Array(16)

const info = new Uint8Array(232)
const infoLength = new Uint32Array(1)
const queued = new Int32Array(1)

/**
 * What the client of connection `fd` has acknowledged so far and what waits in its send queue;
 * undefined when the kernel cannot tell (not TCP, closed, a kernel without tcpi_bytes_acked).
 */
export function sendProgress(fd: number, s: Sockets): { taken: number; waiting: number } | undefined {
  infoLength[0] = info.length
  if (s.getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, infoLength) !== 0) return undefined
  if (infoLength[0]! < BYTES_ACKED_AT + 8) return undefined
  if (s.ioctl(fd, TIOCOUTQ, queued) !== 0) return undefined
  const taken = Number(new DataView(info.buffer).getBigUint64(BYTES_ACKED_AT, true))
  return { taken, waiting: queued[0]! }
}

/**
 * Tells a stall from looks at a connection's progress: stalled once the client has taken
 * nothing for STALL_MS while something waited for it. Nothing waiting is the answer's own
 * pause (a walk rendering its next batch), not the client's.
 */
export class StallClock {
  private taken = -1
  /** When the client last took something (or nothing waited for it). */
  since = performance.now()

  constructor(private readonly ms = STALL_MS) {}

  /** True once stalled (undefined: the kernel cannot tell, and the time runs); `now` for tests. */
  look(progress: { taken: number; waiting: number } | undefined, now = performance.now()): boolean {
    if (progress && (progress.taken !== this.taken || progress.waiting === 0)) {
      this.taken = progress.taken
      this.since = now
      return false
    }
    return now - this.since >= this.ms
  }
}

/** A connection reset: the client sees its answer end short, never taken for whole. */
export function resetConnection(fd: number, s: Sockets): void {
  s.connect(fd, AF_UNSPEC, AF_UNSPEC.length)
}

/** Why a stalled answer was ended: a request wanted its slot, or it passed the ceiling. */
export type Ended = { taken: number; ms: number; wanted: boolean }

interface Guard {
  fd: number
  s: Sockets
  clock: StallClock
  /** The pools whose requests may end it (core/slot-wants.ts). */
  wants: readonly Wanted[]
  stop(): void
  stalled(ended: Ended): void
}

const guards = new Set<Guard>()
let unlook: (() => void) | undefined

function watch(guard: Guard): void {
  guards.add(guard)
  unlook ??= shareInterval(LOOK_MS, () => lookAll(performance.now()))
}

function unwatch(guard: Guard): void {
  if (!guards.delete(guard) || guards.size > 0) return
  unlook?.()
  unlook = undefined
}

/**
 * One look at every guarded connection: those stalled past the ceiling are ended, and each
 * request that wants a slot ends one holder of it stalled past STALL_MS, the longest stalled
 * first. A pool's count is asked once a look: the slots of those ended come back after it.
 */
function lookAll(now: number): void {
  const due: { guard: Guard; taken: number }[] = []
  for (const guard of guards) {
    const progress = sendProgress(guard.fd, guard.s)
    if (!progress) guard.stop()
    else if (guard.clock.look(progress, now)) due.push({ guard, taken: progress.taken })
  }
  if (due.length === 0) return
  due.sort((a, b) => a.guard.clock.since - b.guard.clock.since)
  const left = new Map<Wanted, number>()
  const wantedOf = (pool: Wanted) => {
    let n = left.get(pool)
    if (n === undefined) left.set(pool, (n = pool.wanted(now)))
    return n
  }
  for (const { guard, taken } of due) {
    const ms = now - guard.clock.since
    let wanted = false
    if (ms < CEILING_MS) {
      const pool = guard.wants.find(w => wantedOf(w) > 0)
      if (!pool) continue
      left.set(pool, wantedOf(pool) - 1)
      pool.answered()
      wanted = true
    }
    resetConnection(guard.fd, guard.s)
    guard.stop()
    guard.stalled({ taken, ms, wanted })
  }
}

/**
 * Guards `answer` while it is sent: if its client takes nothing for STALL_MS while a request
 * wants a slot of one of `wants`, or for CEILING_MS, its connection is reset (Bun then ends the
 * answer: a stream is cancelled, a body dropped, what it held given back) and `stalled` is
 * called. Returns the guard's end, which the answer's owner calls when the answer is over
 * (idempotent). Not an answer on a TCP connection (answered in process, a unix socket): nothing
 * is guarded.
 */
export function guardSending(answer: Answer, wants: readonly Wanted[], stalled: (ended: Ended) => void): () => void {
  const since = performance.now()
  let guard: Guard | undefined
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    if (!guard) return
    unwatch(guard)
    closeSync(guard.fd)
  }
  void heldConnectionSoon(answer, since)
    .catch(() => undefined)
    .then(found => {
      if (stopped || !found) return found && closeSync(found.fd)
      guard = { ...found, clock: new StallClock(), wants, stop, stalled }
      watch(guard)
    })
  return stop
}
