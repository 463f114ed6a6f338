/**
 * Fewer, larger reads of a flood on a busy machine. A command writing as fast as it can is read
 * in pieces as small as the scheduler leaves in its pipe: at load 7-10 on 2 cores, 5-16 KiB a
 * read against ~64 KiB (the runtime's largest stream chunk) when quiet, and every read costs the
 * same syscalls and wake-ups whatever its size (the read and the one that finds the pipe empty,
 * a log write, a send, an epoll wait) — execd's CPU per MiB went from ~2.5 ms to 6-16 ms. Once a
 * stream is flooding, a read that came back small waits a millisecond before the next one, so
 * the writer can fill the pipe meanwhile. Output that trickles, a flood's first MiB, and full
 * reads are read as they come. A writer faster than the pipe's buffer per millisecond (~200
 * MiB/s) that execd outpaces would wait on a full pipe for part of it; paced writers of 4 and
 * 8 KiB pieces (up to 160 MiB/s) finished 128 MiB sooner with the wait than without, 16 KiB
 * pieces within the noise (load 6.5).
 */
import { sleep } from './timers'

/** A read shorter than this, in a flood, waits before the next one. */
const SMALL_READ = 16 * 1024
/** Bytes read back to back before a stream counts as flooding. */
const FLOOD_BYTES = 1024 * 1024
/** Reads this close together (ms, end to end) are back to back. */
const BACK_TO_BACK_MS = 5
/** The wait after a small read: at 100 MiB/s it lets ~100 KiB in, more than one chunk takes. */
const GATHER_MS = 1

export class ReadGatherer {
  private streak = 0
  private last = -Infinity

  /** Counts a read of `bytes`; a promise to wait out before reading again, else undefined. */
  after(bytes: number, now = performance.now()): Promise<void> | undefined {
    this.streak = now - this.last < BACK_TO_BACK_MS ? this.streak + bytes : bytes
    this.last = now
    if (bytes >= SMALL_READ || this.streak < FLOOD_BYTES) return undefined
    return sleep(GATHER_MS)
  }
}
