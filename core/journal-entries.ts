/**
 * A Journal's entries (core/journal.ts): what each counts against its limits, which of them
 * making room would drop (one walk over the oldest events, for both the producer's wait — a
 * pacing reader has not read one — and a run's planning: how many lines go in now), and where
 * an ended journal keeps their bytes.
 */
import type { ByteRing } from './byte-ring'
import type { Reader } from './journal-reader'
import { EncodedEvent, OutputBytes, type ExecEvent } from './events'
import { SpilledRange, type ReadableBytes } from './encoded-part'
import type { OutputLine } from './lines'
import { frameBytes, RUN_BYTES, RUN_LINES, type FramedLines } from './output-frames'

export interface Entry {
  /** Its id; for a run of lines, the id of the first one still retained. */
  id: number
  event?: ExecEvent
  /** An output line kept as bytes (a copy in the ring), the same item for every reader. */
  line?: OutputBytes
  /** Output lines kept as their frames (tryAppendRun), one event each. */
  run?: FramedLines
  /** Where an encoded event's JSON lies in the ring (its `event` views it there). */
  span?: Span
  /** The spilled files its event's JSON lies in, held (core/spilled-bytes.ts) until it is dropped. */
  spills?: readonly ReadableBytes[]
  bytes: number
}

/** Bytes `source[start..end]` a journal's ring holds for an entry. */
export interface Span {
  source: Uint8Array
  start: number
  end: number
}

/** The last id an entry holds. */
export const lastOf = (e: Entry): number => (e.run ? e.run.last : e.id)
/** What the event `id` of entry `e` counts against maxBytes. */
export const bytesOf = (e: Entry, id: number): number => (e.run ? lineBytes(e.run.textLength(id)) : e.bytes)

/** What a dropped entry's slot holds until the array is compacted. */
export const DROPPED: Entry = Object.freeze({ id: 0, bytes: 0 })

/** What a spilled part of an event counts against a journal's maxBytes: a handle to a file. */
const SPILLED_PART_BYTES = 64

/** What a line of `length` ASCII bytes counts: the same as its event would (`estimateBytes`). */
export const lineBytes = (length: number): number => 96 + length * 2

export function estimateBytes(e: ExecEvent): number {
  // Its bytes, as they are: its text or results made only if a reader asks for them. A spilled
  // part counts what it holds in memory, its handle, not its size: the spills' own bound holds
  // those bytes (on disk), and counted here, a value past maxBytes was dropped at the next event,
  // its replay events_dropped.
  if (e instanceof EncodedEvent) {
    let n = 96
    for (const p of e.parts) n += p instanceof SpilledRange ? SPILLED_PART_BYTES : p.length
    return n
  }
  let n = 96
  if (e.text) n += e.text.length * 2
  if (e.results) for (const v of Object.values(e.results)) n += typeof v === 'string' ? v.length * 2 : 256
  if (e.error) n += e.error.evalue.length * 2 + e.error.traceback.reduce((a, l) => a + l.length * 2, 0)
  return n
}

/**
 * The oldest retained events taken one by one as the journal's dropOldest would take them,
 * nothing dropped. One per journal, reset for each question (a flood asks per line).
 */
export class DropWalk {
  private entries: readonly Entry[] = []
  /** Index in `entries` of the entry holding `oldest`. */
  private index = 0
  /** The event the walk would drop next (0: none retained). */
  oldest = 0
  /** Events and bytes the journal would hold, less the walk's drops, plus what it was told comes. */
  events = 0
  bytes = 0
  drops = 0
  // mark()'s copy: plain fields, as the walk is asked per line of a flood
  private mIndex = 0
  private mOldest = 0
  private mEvents = 0
  private mBytes = 0
  private mDrops = 0

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  reset(entries: readonly Entry[], head: number, events: number, bytes: number): this {
    this.entries = entries
    this.index = head
    this.oldest = entries[head]?.id ?? 0
    this.events = events
    this.bytes = bytes
    this.drops = 0
    return this
  }

  /** Whether `incoming` more bytes need a drop first. */
  over(incoming: number): boolean {
    return this.events > 0 && (this.events >= this.maxEvents || this.bytes + incoming > this.maxBytes)
  }

  /** The entry holding `oldest`; none when it is not appended yet (a line of the run being planned). */
  get entry(): Entry | undefined {
    return this.entries[this.index]
  }

  /** Counts `oldest` as dropped and returns its id. */
  take(): number {
    const e = this.entries[this.index]!
    const id = this.oldest
    this.bytes -= bytesOf(e, id)
    this.events--
    this.drops++
    if (id < lastOf(e)) this.oldest++
    else this.oldest = this.entries[++this.index]?.id ?? 0
    return id
  }

  mark(): void {
    this.mIndex = this.index
    this.mOldest = this.oldest
    this.mEvents = this.events
    this.mBytes = this.bytes
    this.mDrops = this.drops
  }

  rollback(): void {
    this.index = this.mIndex
    this.oldest = this.mOldest
    this.events = this.mEvents
    this.bytes = this.mBytes
    this.drops = this.mDrops
  }
}

/** A run's plan: lines that go in now, their frames' bytes, what they count, the drops made for them. */
export interface RunPlan {
  count: number
  size: number
  need: number
}

/**
 * How many of the clean lines `lines[from..]` go into one run now, each making the drops it
 * would make one by one (`walk`, reset to the journal; its `drops` says how many in all),
 * stopping where one would wait: a drop of an event past `free` (a pacing reader has not read
 * it) or of a line of this run. Frames are `frameBytes` with the head's and tail's lengths.
 */
export function planRun(
  walk: DropWalk,
  free: number,
  firstId: number,
  head: number,
  tail: number,
  lines: (OutputLine | number)[],
  from: number,
): RunPlan {
  const plan = { count: 0, size: 0, need: 0 }
  for (let i = from; i < lines.length && typeof lines[i] === 'number' && plan.count < RUN_LINES; i += 2) {
    const length = (lines[i + 1] as number) - (lines[i] as number)
    const frame = frameBytes(firstId + plan.count, head, length, tail)
    if (plan.count > 0 && plan.size + frame > RUN_BYTES) break
    const incoming = lineBytes(length)
    // a line that would wait drops nothing (tryAppendRange asks neededFor first)
    if (walk.over(incoming)) {
      walk.mark()
      while (walk.over(incoming) && walk.entry && walk.oldest <= free) walk.take()
      // it would wait: the oldest is a line of this run, or one a pacing reader still needs
      if (walk.over(incoming)) {
        walk.rollback()
        break
      }
    }
    walk.events++
    walk.bytes += incoming
    plan.need += incoming
    plan.size += frame
    plan.count++
  }
  return plan
}

/**
 * Moves the retained lines' bytes out of `ring` into one buffer of their size: an ended journal
 * keeps its lines (replays, up to the retention of finished commands), not a ring sized for a flood.
 */
export function keepOutOfRing(entries: readonly Entry[], head: number, ring: ByteRing): void {
  const kept: Entry[] = []
  let size = 0
  for (let i = head; i < entries.length; i++) {
    const e = entries[i]!
    if (e.run && ring.holds(e.run.source)) {
      kept.push(e)
      size += e.run.end - e.run.frameStart(e.id)
    } else if (e.line && ring.holds(e.line.source)) {
      kept.push(e)
      size += e.line.data.length
    } else if (e.span && ring.holds(e.span.source)) {
      kept.push(e)
      size += e.span.end - e.span.start
    }
  }
  const buf = new Uint8Array(size)
  let at = 0
  for (const e of kept) {
    if (e.run) {
      const from = e.run.frameStart(e.id)
      const n = e.run.end - from
      buf.set(e.run.source.subarray(from, e.run.end), at)
      e.run.move(buf, at - from)
      at += n
      continue
    }
    if (e.span) {
      const { source, start, end } = e.span
      buf.set(source.subarray(start, end), at)
      e.event = (e.event as EncodedEvent).movedTo(buf, at, (at += end - start))
      e.span = undefined
      continue
    }
    const { id, type, data, timestamp } = e.line!
    buf.set(data, at)
    e.line = new OutputBytes(id, type, buf.subarray(at, (at += data.length)), timestamp)
  }
}

/**
 * Frees the ring's room of the dropped entries `unreclaimed`, oldest first, up to one a reader
 * was handed last (it may not have framed it yet; it is done once it asks for the next one).
 * Returns how many were freed.
 */
export function reclaimFrom(
  unreclaimed: readonly Entry[],
  readers: Iterable<Reader>,
  ring: ByteRing | undefined,
): number {
  let n = 0
  for (; n < unreclaimed.length; n++) {
    const e = unreclaimed[n]!
    // (a run: any of its lines, the first as it was appended)
    const first = e.run ? e.run.first : e.id
    for (const r of readers) if (r.cursor >= first && r.cursor <= lastOf(e)) return n
    if (e.run) ring?.free(e.run.source, e.run.at[0]!, e.run.end)
    else if (e.line) ring?.free(e.line.source, e.line.start, e.line.end)
    else ring?.free(e.span!.source, e.span!.start, e.span!.end)
  }
  return n
}
