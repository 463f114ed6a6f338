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
import { awakeNow } from './awake-clock'
import { SpilledRange, type ReadableBytes } from './encoded-part'
import { IN_MEMORY, O_TMPFILE } from './file-snapshot'

/**
 * A value from this size on is kept in a spilled file, not in execd's memory, until its client
 * has read it: a value's client may read late or never. Smaller ones are held as they are.
 */
export const SPILL_FROM = 1024 * 1024

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
const closer = new FinalizationRegistry<Account>(account => {
  held -= account.size
  account.closed = true
  try {
    closeSync(account.fd)
  } catch {}
})

/**
 * A file's descriptor, the bytes it counts against the bound (a growing one's grow), and who
 * holds it now: a journal's entry, each reader handed its event (core/journal.ts). Closed at the
 * last one's letting go: closed at the journal's drop alone, a writer still sending the value
 * read a descriptor whose number the next open took, and sent its bytes without a word.
 */
type Account = { fd: number; size: number; holders: number; closed: boolean; readAt: number }

/** What keeps a finished execution's spilled value for replays, and can give it up. */
export interface SpillKeeper {
  /** Lets go of the file (its replay then says events_dropped). */
  giveUp(file: ReadableBytes): void
}

/*
 * Finished executions' spilled values, oldest first: a new spill that the bound has no room for
 * takes theirs before it is refused, and each is given up `keepMs` after its execution ended or
 * a reader last came for it, whichever is later (ms on the awake clock): kept until room was
 * needed, 8 values of 50 MB held 400 MB of a tmpfs TMPDIR (the container's memory) for as long as
 * an idle daemon kept their executions, 15 minutes; counted from the end alone, a client
 * replaying or resuming it after most of its time lost it mid-replay. Weak: an execution
 * forgotten (its store's retention) takes its file with it, through the collector.
 */
const kept: { file: WeakRef<SpilledFile>; keeper: WeakRef<SpillKeeper>; until: number; keepMs: number }[] = []
/** The timer that gives up the kept values whose time is up, and when it fires (awake ms). */
let expiry: { timer: ReturnType<typeof setTimeout>; at: number } | undefined

/**
 * `file`, held by `keeper` for replays of an execution that has ended, may be given up for room,
 * and is `keepMs` from now (0: only for room).
 */
function offerForRoom(file: SpilledFile, keeper: SpillKeeper, keepMs: number): void {
  if (kept.length >= 64) prune()
  const until = keepMs > 0 ? awakeNow() + keepMs : Infinity
  kept.push({ file: new WeakRef(file), keeper: new WeakRef(keeper), until, keepMs })
  if (until < (expiry?.at ?? Infinity)) expireAt(until)
}

function expireAt(at: number): void {
  if (expiry) clearTimeout(expiry.timer)
  const timer = setTimeout(giveUpExpired, Math.max(0, at - awakeNow()))
  // Holds nothing open: a one-shot `execd exec` that spilled a value exits when its work is done.
  timer.unref?.()
  expiry = { timer, at }
}

/** Gives up the kept values whose time is up (a stop of execd does not count: the awake clock). */
function giveUpExpired(): void {
  expiry = undefined
  const now = awakeNow()
  for (const k of kept) {
    const file = k.file.deref()
    const keeper = k.keeper.deref()
    // (a journal giving one up drops its older ones with it: they are closed when reached)
    if (file?.open && keeper && untilOf(k, file) <= now) keeper.giveUp(file)
  }
  prune()
  let next = Infinity
  for (const k of kept) next = Math.min(next, untilOf(k, k.file.deref()))
  if (next < Infinity) expireAt(next)
}

/** When a kept value's time is up: `keepMs` after its execution's end or its last read. */
function untilOf(k: (typeof kept)[number], file: SpilledFile | undefined): number {
  return file && k.keepMs > 0 ? Math.max(k.until, file.readAt + k.keepMs) : k.until
}

function prune(): void {
  let n = 0
  for (const k of kept) if (k.file.deref()?.open && k.keeper.deref()) kept[n++] = k
  kept.length = n
}

/** Has the oldest finished execution's spilled value given up; false when none is left. */
function giveUpOldest(): boolean {
  for (let k = kept.shift(); k; k = kept.shift()) {
    const file = k.file.deref()
    const keeper = k.keeper.deref()
    if (!file?.open || !keeper) continue
    keeper.giveUp(file)
    return true
  }
  return false
}

/** Bytes of spilled values held now (for tests). */
export const spilledBytesHeld = (): number => held

/** Why a spill was not made: its words for the error event of the value dropped. */
export type SpillRefusal = { refused: string }

/**
 * The refusal of `more` bytes for a spill of `whole` in `dir`, of which `free` bytes are free
 * (those the spill already wrote counted as free: its share is of the space there was), or
 * undefined when they fit.
 */
function refusal(more: number, whole: number, dir: string, free: number): SpillRefusal | undefined {
  if (held + more > heldMax!)
    return { refused: `large values held for their clients reached ${heldMax! / 2 ** 20} MiB` }
  if (whole * FREE_SHARE > free) return { refused: `${dir} (TMPDIR) has ${(free / 2 ** 20).toFixed(0)} MiB free` }
}

/** An unnamed file of one event's JSON, written once as it arrives, then read as often as sent. */
export class SpilledFile implements ReadableBytes {
  private written = 0

  private constructor(
    private readonly account: Account,
    private readonly dir: string,
  ) {}

  /** The bytes it is for: a growing file's, those written so far. */
  get size(): number {
    return this.account.size
  }

  /**
   * A file for `size` bytes, a refusal when the spills' bound has no room for them, or undefined
   * when no file can be made here (no O_TMPFILE, TMPDIR missing or read-only): the caller holds
   * the bytes in memory, as before spills. A file opened for 0 bytes grows as it is appended to
   * (a value whose size is not told before its bytes: javascript's pieces).
   */
  static open(size: number): SpilledFile | SpillRefusal | undefined {
    const dir = tmpdir()
    let fd: number
    try {
      for (;;) {
        const fs = statfsSync(dir)
        heldMax ??= IN_MEMORY.has(fs.type) ? MEMORY_MAX : DISK_MAX
        const refused = refusal(size, size, dir, fs.bavail * fs.bsize)
        if (!refused) break
        // finished executions' values first, a running cell's last (one held by a reader closes later)
        if (!giveUpOldest()) return refused
      }
      fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600)
    } catch {
      return undefined
    }
    const account = { fd, size, holders: 0, closed: false, readAt: -Infinity }
    const file = new SpilledFile(account, dir)
    held += size
    closer.register(file, account, file)
    return file
  }

  /** When a reader last came for it or was done with it (awake ms; -Infinity: never). */
  get readAt(): number {
    return this.account.readAt
  }

  /**
   * A reader comes for it (a replay or resume that will reach it) or is done sending it: a
   * finished execution's value is kept `keepMs` from the later of this and its end.
   */
  touch(): void {
    this.account.readAt = awakeNow()
  }

  /** Not closed yet: its bytes can still be read. */
  get open(): boolean {
    return !this.account.closed
  }

  /** Closes it now and gives its bytes back, not at a collection. Idempotent. */
  release(): void {
    if (!closer.unregister(this)) return
    held -= this.account.size
    this.account.closed = true
    closeSync(this.account.fd)
  }

  /** One more holder (a journal's entry, a reader handed the event): open until each lets go. */
  hold(): void {
    this.account.holders++
  }

  /** A holder is done with it: the last one closes it (one never held waits for the collector). */
  letGo(): void {
    if (--this.account.holders === 0) this.release()
  }

  offerForRoom(keeper: SpillKeeper, keepMs: number): void {
    offerForRoom(this, keeper, keepMs)
  }

  /**
   * Appends bytes; a refusal when they could not be written (the disk is full) or, past the
   * size it was opened for, the bound has no room for them: the caller drops the value.
   */
  append(bytes: Uint8Array): SpillRefusal | undefined {
    const past = this.written + bytes.length - this.account.size
    if (past > 0) {
      let free: number
      try {
        const fs = statfsSync(this.dir)
        free = fs.bavail * fs.bsize
      } catch {
        free = 0
      }
      const refused = refusal(past, this.account.size + past, this.dir, free + this.written)
      if (refused) return giveUpOldest() ? this.append(bytes) : refused
      held += past
      this.account.size += past
    }
    try {
      for (let at = 0; at < bytes.length;)
        at += writeSync(this.account.fd, bytes, at, bytes.length - at, this.written + at)
      this.written += bytes.length
    } catch (e) {
      return { refused: `it could not be written to TMPDIR (${(e as NodeJS.ErrnoException).code ?? e})` }
    }
  }

  /** Bytes start…end, into `into` when given (it must have room), else a buffer of their own. */
  read(start: number, end: number, into?: Uint8Array): Uint8Array {
    // closed, its descriptor's number may be another file's now: never read it
    if (this.account.closed) throw new Error('a spilled value was given up before it was sent')
    const buf = into ? into.subarray(0, end - start) : Buffer.allocUnsafe(end - start)
    for (let at = 0; at < buf.length;) {
      const n = readSync(this.account.fd, buf, at, buf.length - at, start + at)
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
