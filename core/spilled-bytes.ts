/**
 * A large event's JSON kept in an unnamed file (O_TMPFILE in TMPDIR) instead of execd's memory,
 * and read back a slice at a time as it is sent (core/sse-writer.ts). An interpreter's 60 MB
 * value whose client did not read held its size in execd until the client read or left: 16
 * python contexts so could hold ~2 GiB. Kept here, each such value holds a descriptor and the
 * slice being written; the bytes wait in the file (CONTRACT §2: a flood is throttled by
 * backpressure or spilled to disk).
 */
import { closeSync, constants, openSync, readSync, statfsSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { SpilledRange, type ReadableBytes } from './encoded-part'
import { IN_MEMORY, O_TMPFILE } from './file-snapshot'

/**
 * The bytes all spilled values may hold at once, on disk: past it a value is dropped with an
 * error saying so (never waited for: a budget that waits lets clients that never read stall the
 * ones that do). As the downloads' copies (core/file-body.ts).
 */
const DISK_MAX = 2 * 1024 * 1024 * 1024
/** The same where TMPDIR is memory (tmpfs): the spill is then memory, execd's cgroup's. */
const MEMORY_MAX = 512 * 1024 * 1024
/** A spill may take at most this share of TMPDIR's free space: it must not fill the disk. */
const FREE_SHARE = 4

/*
 * Process-wide, as the TMPDIR it bounds: two apps in one process (tests) each with its own would
 * hold twice the bound between them. A file is closed, and its bytes given back, once no event
 * refers to it (journals drop events, writers finish them): the collector says when.
 */
let held = 0
let heldMax: number | undefined
const closer = new FinalizationRegistry<{ fd: number; size: number }>(({ fd, size }) => {
  held -= size
  try {
    closeSync(fd)
  } catch {}
})

/** Bytes of spilled values held now (for tests). */
export const spilledBytesHeld = (): number => held

/** Why a spill was not made: its words for the error event of the value dropped. */
export type SpillRefusal = { refused: string }

/** An unnamed file of one event's JSON, written once as it arrives, then read as often as sent. */
export class SpilledFile implements ReadableBytes {
  private written = 0

  private constructor(
    private readonly fd: number,
    /** The bytes it is for. */
    readonly size: number,
  ) {}

  /**
   * A file for `size` bytes, a refusal when the spills' bound has no room for them, or undefined
   * when no file can be made here (no O_TMPFILE, TMPDIR missing or read-only): the caller holds
   * the bytes in memory, as before spills.
   */
  static open(size: number): SpilledFile | SpillRefusal | undefined {
    const dir = tmpdir()
    let fd: number
    let free: number
    try {
      const fs = statfsSync(dir)
      heldMax ??= IN_MEMORY.has(fs.type) ? MEMORY_MAX : DISK_MAX
      free = fs.bavail * fs.bsize
      if (held + size > heldMax)
        return { refused: `large values held for their clients reached ${heldMax / 2 ** 20} MiB` }
      if (size * FREE_SHARE > free) return { refused: `${dir} (TMPDIR) has ${(free / 2 ** 20).toFixed(0)} MiB free` }
      fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600)
    } catch {
      return undefined
    }
    const file = new SpilledFile(fd, size)
    held += size
    closer.register(file, { fd, size }, file)
    return file
  }

  /** Closes it now and gives its bytes back, not at a collection (for tests). Idempotent. */
  release(): void {
    if (!closer.unregister(this)) return
    held -= this.size
    closeSync(this.fd)
  }

  /** Appends bytes; false when they could not be written (the disk is full). */
  append(bytes: Uint8Array): boolean {
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(this.fd, bytes, at, bytes.length - at, this.written + at)
      this.written += bytes.length
      return true
    } catch {
      return false
    }
  }

  /** Bytes start…end, into `into` when given (it must have room), else a buffer of their own. */
  read(start: number, end: number, into?: Uint8Array): Uint8Array {
    const buf = into ? into.subarray(0, end - start) : Buffer.allocUnsafe(end - start)
    for (let at = 0; at < buf.length;) {
      const n = readSync(this.fd, buf, at, buf.length - at, start + at)
      if (n === 0) throw new Error('a spilled value ended early')
      at += n
    }
    return buf
  }

  /** Bytes start…end as an event's part. */
  range(start: number, end: number): SpilledRange {
    return new SpilledRange(this, start, end)
  }
}
