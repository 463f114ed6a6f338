/**
 * What a journal (core/journal.ts) keeps: its retained events in order, their count and bytes
 * against the limits, the oldest dropped to make room, the entry holding a given id, and the
 * ring its output lines' bytes are copied into. The journal adds appending, readers and pacing.
 */
import { ByteRing } from './byte-ring'
import { bytesOf, DROPPED, DropWalk, keepOutOfRing, lastOf, type Entry } from './journal-entries'

export interface JournalLimits {
  maxEvents?: number
  maxBytes?: number
  /**
   * Bytes of output an ended journal keeps once no reader paces it (its newest; results and
   * errors whatever their size). Unset: what it held at its end.
   */
  keepEnded?: number
  /**
   * ms an ended journal's spilled values stay replayable once it settles, before they give their
   * room back (core/spilled-bytes.ts). Unset or 0: until a new spill needs the room.
   */
  keepSpilled?: number
}

/** Events an ended journal keeps whatever `keepEnded` says: what a replay is for. */
const KEPT_TYPES = new Set(['result', 'error', 'execution_complete'])

export class JournalStore {
  protected entries: Entry[] = []
  protected head = 0 // index of the oldest retained entry in `entries`
  /** Events retained (a run of lines is one entry of many events). */
  protected events = 0
  /** Some entry is a run: an id is no longer its entry's index from the first. */
  protected runs = false
  protected bytes = 0
  protected nextId = 1
  protected ended = false
  protected readonly maxEvents: number
  protected readonly maxBytes: number
  protected readonly keepEnded: number
  protected readonly keepSpilled: number
  /** Where output lines' bytes are kept; made on the first one. */
  protected ring: ByteRing | undefined
  /** Dropped lines whose ring bytes a reader may still be framing (see `reclaim`). */
  protected unreclaimed: Entry[] = []
  /** Which events making room would drop (DropWalk, journal-entries.ts), asked without dropping them. */
  protected readonly walk: DropWalk

  constructor(limits: JournalLimits = {}) {
    this.maxEvents = limits.maxEvents ?? 4096
    this.maxBytes = limits.maxBytes ?? 4 * 1024 * 1024
    this.keepEnded = limits.keepEnded ?? Infinity
    this.keepSpilled = limits.keepSpilled ?? 0
    this.walk = new DropWalk(this.maxEvents, this.maxBytes)
  }

  /** Id of the last event appended (0 when none). */
  get lastId(): number {
    return this.nextId - 1
  }

  /** Bytes of the events still retained (as counted against maxBytes). */
  get retainedBytes(): number {
    return this.bytes
  }

  /** Id of the oldest event still retained. */
  get firstRetainedId(): number {
    return this.entries[this.head]?.id ?? this.nextId
  }

  get done(): boolean {
    return this.ended
  }

  protected makeRoom(bytes: number): void {
    while (this.full(bytes) && this.events > 0) this.dropOldest()
  }

  /**
   * Drops the oldest output past `keepEnded`: a finished cell's flood kept its journal's 4 MiB
   * for replays, and each one finished added that to execd (row 12b's third flood started
   * ~8 MiB higher than its first).
   */
  protected trimEnded(): void {
    while (this.bytes > this.keepEnded && this.events > 1) {
      const e = this.entries[this.head]
      if (!e || (e.event && KEPT_TYPES.has(e.event.type))) return
      this.dropOldest()
    }
  }

  /**
   * A journal that has ended keeps its lines (replays, up to the retention of finished
   * commands) in one buffer of their size rather than in a ring sized for a flood.
   */
  protected compact(): ByteRing | undefined {
    const ring = this.ring
    if (!ring) return
    this.ring = undefined
    this.unreclaimed = []
    keepOutOfRing(this.entries, this.head, ring)
    return ring
  }

  protected full(incoming: number): boolean {
    return this.events >= this.maxEvents || (this.events > 0 && this.bytes + incoming > this.maxBytes)
  }

  protected dropOldest(): void {
    const e = this.entries[this.head]
    if (!e) return
    this.events--
    if (e.run && e.id < e.run.last) {
      // the run's first line only; its bytes in the ring go with the run's last
      const bytes = bytesOf(e, e.id)
      e.id++
      e.bytes -= bytes
      this.bytes -= bytes
      return
    }
    // The slot is cleared, not just passed, and the entry lets go of its event (it may still be
    // held for its ring space, below): kept until the next compaction (1,024 drops on), a dropped
    // event stayed in memory with its finished execution — a cell's 8 MB value held 16 MiB for
    // each of the 128 executions kept (20 such cells: RssAnon 9 → 341 MiB).
    this.entries[this.head++] = DROPPED
    this.bytes -= e.bytes
    e.event = undefined
    if (e.spills) for (const f of e.spills) f.letGo()
    e.spills = undefined
    // Only what lies in the ring waits for a reader to let go of it: a copy is the GC's. Kept
    // all, a watcher stopped mid-run (its socket full) pinned every line dropped after it, and a
    // flood past the full ring was copies: one unread `GET …/events` grew execd ~60 MB/s.
    const held = e.run ? e.run.source : (e.line?.source ?? e.span?.source)
    if (held && this.ring?.holds(held)) this.unreclaimed.push(e)
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
  }

  /** The entry holding the event after `cursor`, if it is retained. */
  protected entryAfter(cursor: number): Entry | undefined {
    const first = this.entries[this.head]
    if (!first) return undefined
    const want = cursor + 1
    if (!this.runs) return this.entries[this.head + Math.max(0, want - first.id)]
    if (want <= first.id) return first
    // the last entry starting at or before `want`, if it holds it
    let lo = this.head
    let hi = this.entries.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.entries[mid]!.id <= want) lo = mid
      else hi = mid - 1
    }
    const e = this.entries[lo]!
    return lastOf(e) >= want ? e : undefined
  }
}
