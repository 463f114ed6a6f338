/**
 * The stall rule of an answer that holds something while it is sent (a --max-walks slot and the
 * entries of a listing, a download's copy or its bytes in memory): a client that takes nothing
 * for STALL_MS has its connection reset, so that what its answer holds is given back. Bun closes
 * a connection on which nothing was written for its idleTimeout (core/connections.ts), which let
 * four clients that never read a 60,000-entry listing refuse every other walk for 124 s; the
 * rule is execd's own, logged, and the same for every such answer, downloads written by execd
 * included (core/socket-body.ts).
 *
 * "Takes nothing" is read from the kernel, not from the pulls of a stream: the bytes the client
 * acknowledged (TCP_INFO's tcpi_bytes_acked) have not grown while some wait in the send queue.
 * A slow reader is not a stalled one, but the sender sees its reads only when they free a
 * segment's worth of its receive window: on loopback (MSS 64 KiB) a client reading 1 KiB/s
 * acknowledges a step every ~64 s, over a 1500-byte link every ~1.4 s. STALL_MS is above that.
 */
import { closeSync } from 'node:fs'
import type { Answer } from './answering'
import { heldConnectionSoon, type Sockets } from './connection-fd'
import { PERIODS } from './periods'

/** A client that takes nothing for this long is dropped, as Bun drops a silent one (idleTimeout). */
export const STALL_MS = PERIODS.stall
/** How often a guarded connection is looked at. */
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
  private since = performance.now()

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

/**
 * Guards `answer` while it is sent: if its client takes nothing for STALL_MS, its connection is
 * reset (Bun then ends the answer: a stream is cancelled, a body dropped, what it held given
 * back) and `stalled` is called with the bytes the client took. Returns the guard's end, which
 * the answer's owner calls when the answer is over (idempotent). Not an answer on a TCP
 * connection (answered in process, a unix socket): nothing is guarded.
 */
export function guardSending(answer: Answer, stalled: (taken: number) => void): () => void {
  const since = performance.now()
  const clock = new StallClock()
  let held: { fd: number; s: Sockets } | null | undefined
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    clearInterval(timer)
    if (held) closeSync(held.fd)
    held = null
  }
  const look = () => {
    if (!held) return
    const progress = sendProgress(held.fd, held.s)
    if (!progress) return stop()
    if (!clock.look(progress)) return
    resetConnection(held.fd, held.s)
    stop()
    stalled(progress.taken)
  }
  const timer = setInterval(look, LOOK_MS)
  timer.unref?.()
  void heldConnectionSoon(answer, since)
    .catch(() => undefined)
    .then(found => {
      if (stopped || !found) return found && closeSync(found.fd)
      held = found
    })
  return stop
}
