/**
 * A bounded, replayable journal of one execution's events: the basis of resumable streams
 * (CONTRACT §2). Events get ids 1, 2, 3, ... Readers replay from any id still retained and then
 * follow live. Memory is bounded by event count and bytes: while a pacing reader is behind, the
 * producer waits (backpressure); otherwise the oldest events are dropped, and a reader that
 * asks for them (late, or a watcher that fell behind) is told so with an explicit `status` event.
 *
 * Only the request that started an execution paces it. A watcher (`GET …/events`) does not:
 * one that stopped reading froze a background job until Bun's idle timeout dropped it (a
 * 100 MB job: 2 s alone, 125 s watched), so anyone with the token could stall anyone's job.
 */
import { EncodedEvent, lineEvent, makeEvent, OutputBytes, type ExecEvent } from './events'
import { freeChunk } from './chunks'
import type { OutputLine } from './lines'
import type { SseItem } from './sse'
import { ByteRing } from './byte-ring'
import { DONE, JournalReader, type ReadyIterator, type Reader } from './journal-reader'
import { estimateBytes, lineBytes, planRun, reclaimFrom, type Entry } from './journal-entries'
import { JournalStore } from './journal-store'
import { spilledFiles, type ReadableBytes } from './encoded-part'
import { frameHead, frameRun, frameTail, OutputFrames } from './output-frames'

export type { ReadyIterator } from './journal-reader'

export class Journal extends JournalStore {
  private readonly readers = new Set<Reader>()
  /** How many of `readers` pace the producer. */
  private pacers = 0
  /** `stopPacing()` was called: readers attached later do not pace either. */
  private unpaced = false
  /** Trimmed and compacted once ended and no reader paces it (`settle`). */
  private settled = false
  /** Events appended with spilled parts (held: `Entry.spills`). */
  private spilled = 0
  private onSettled: (() => void) | undefined
  private wakeReaders: (() => void)[] = []
  private wakeWriter: (() => void) | undefined

  /** Whether a pacing reader is attached (its reading paces the producer). */
  get followed(): boolean {
    return this.pacers > 0
  }

  /**
   * From now on no reader paces the producer: those that fall behind are told what they missed
   * (`events_dropped`), as watchers are. For an execution being stopped: its end comes behind its
   * output, and a client that reads nothing must not hold the stop back until the grace kills
   * the interpreter (state lost).
   */
  stopPacing(): void {
    if (this.unpaced) return
    this.unpaced = true
    for (const r of this.readers) r.paces = false
    this.pacers = 0
    const wake = this.wakeWriter
    this.wakeWriter = undefined
    wake?.()
    this.settle()
  }

  /**
   * Appends an event. Resolves at once unless the journal is full and an attached reader still
   * needs the oldest event; then it waits for that reader (the producer should stop reading its
   * source meanwhile, which pushes back on the process writing the output).
   */
  async append(event: ExecEvent): Promise<number> {
    if (this.ended) throw new Error('journal has ended')
    const bytes = estimateBytes(event)
    while (this.neededFor(bytes)) {
      await new Promise<void>(r => (this.wakeWriter = r))
    }
    return this.pushEvent(event, bytes)
  }

  /**
   * Appends an output line (`append` of its event, waiting the same way). A line that is
   * bytes is copied into the journal's ring and framed from there; text becomes an event.
   */
  async appendLine(type: 'stdout' | 'stderr', line: OutputLine): Promise<number> {
    if (typeof line === 'string') return this.append(lineEvent(type, line))
    if (this.ended) throw new Error('journal has ended')
    return this.appendRange(type, line, 0, line.length)
  }

  /** `appendLine` of the clean line `source[start..end]` (ByteLineSplitter.pushRanges). */
  async appendRange(type: 'stdout' | 'stderr', source: Uint8Array, start: number, end: number): Promise<number> {
    if (this.ended) throw new Error('journal has ended')
    const bytes = lineBytes(end - start)
    while (this.neededFor(bytes)) {
      await new Promise<void>(r => (this.wakeWriter = r))
    }
    return this.pushLine(type, source, start, end, bytes)
  }

  /** `tryAppend` for an output line: its id, or 0 when `appendLine` would wait. */
  tryAppendLine(type: 'stdout' | 'stderr', line: OutputLine): number {
    if (typeof line === 'string') return this.tryAppend(lineEvent(type, line))
    return this.tryAppendRange(type, line, 0, line.length)
  }

  /** `tryAppendLine` of the clean line `source[start..end]`. */
  tryAppendRange(type: 'stdout' | 'stderr', source: Uint8Array, start: number, end: number): number {
    if (this.ended) throw new Error('journal has ended')
    const bytes = lineBytes(end - start)
    if (this.neededFor(bytes)) return 0
    return this.pushLine(type, source, start, end, bytes)
  }

  private pushLine(type: 'stdout' | 'stderr', source: Uint8Array, start: number, end: number, bytes: number): number {
    // Room first, so the space of the lines dropped for it can take this one.
    this.makeRoom(bytes)
    const ring = this.reclaimedRing()
    const at = ring.copy(source, start, end)
    // The id push() gives it: room is made already.
    const line =
      at < 0
        ? new OutputBytes(this.nextId, type, source.slice(start, end), Date.now())
        : new OutputBytes(this.nextId, type, ring.buffer, Date.now(), at, at + end - start)
    return this.push({ id: 0, line, bytes })
  }

  /**
   * An event's entry. Output that is its JSON already (a bash cell's chunks) is copied into the
   * ring, as a command's lines are, and the chunk freed when it is its own: kept as it came, a
   * flood's chunks were garbage for the collector once dropped, and held a cell's flood at
   * 130–180 MiB where a command's stays under 80.
   */
  private pushEvent(event: ExecEvent, bytes: number): number {
    if (!(event instanceof EncodedEvent)) return this.push({ id: 0, event, bytes })
    const spills = spilledFiles(event.parts)
    if (spills.length > 0) {
      for (const f of spills) f.hold()
      this.spilled++
      return this.push({ id: 0, event, spills, bytes })
    }
    if (event.type === 'result' || event.parts.length !== 1) return this.push({ id: 0, event, bytes })
    const json = event.parts[0]
    // (a spilled part stays where it is: its file holds it, not memory)
    if (!(json instanceof Uint8Array)) return this.push({ id: 0, event, bytes })
    this.makeRoom(bytes)
    const ring = this.reclaimedRing()
    const start = ring.copy(json)
    if (start < 0) return this.push({ id: 0, event, bytes })
    const source = ring.buffer
    const end = start + json.length
    if (event.disposable) freeChunk(json)
    return this.push({ id: 0, event: event.movedTo(source, start, end), span: { source, start, end }, bytes })
  }

  private push(entry: Entry): number {
    this.makeRoom(entry.bytes)
    entry.id = this.nextId++
    this.entries.push(entry)
    this.events++
    this.bytes += entry.bytes
    this.wake()
    return entry.id
  }

  /**
   * Appends the clean lines `lines[from..]` (ranges in `source`, as ByteLineSplitter.pushRanges
   * gives them) as one run of frames, as many as go in now: what the same lines one by one
   * through `tryAppendRange` would append, each dropping what it would drop, with the same
   * ids, stopping where one would wait (or would drop a line of this run: the next run goes on
   * from there). Returns the index in `lines` after the last line appended (`from`: none).
   */
  tryAppendRun(type: 'stdout' | 'stderr', source: Uint8Array, lines: (OutputLine | number)[], from: number): number {
    if (this.ended) throw new Error('journal has ended')
    const timestamp = Date.now()
    const head = frameHead(type)
    const tail = frameTail(timestamp)
    // Events up to `free` may be dropped; past it a pacing reader has not read them.
    let free = Infinity
    if (this.pacers > 0) for (const r of this.readers) if (r.paces && r.cursor < free) free = r.cursor
    // The drops each line would make, in order, without making them yet.
    const walk = this.walk.reset(this.entries, this.head, this.events, this.bytes)
    const { count, size, need } = planRun(walk, free, this.nextId, head.length, tail.length, lines, from)
    if (count === 0) return from
    for (let d = walk.drops; d > 0; d--) this.dropOldest()
    const ring = this.reclaimedRing()
    const first = this.nextId
    const run = frameRun(ring, size, type, timestamp, [first, count], [head, tail], source, lines, from)
    this.nextId += count
    this.entries.push({ id: first, run, bytes: need })
    this.runs = true
    this.events += count
    this.bytes += need
    this.wake()
    return from + count * 2
  }

  /**
   * Appends at once when that needs no waiting, and returns the id; 0 when `append` would
   * wait. Lets a producer add a chunk's many events in one go, so readers see them together.
   */
  tryAppend(event: ExecEvent): number {
    if (this.ended) throw new Error('journal has ended')
    const bytes = estimateBytes(event)
    if (this.neededFor(bytes)) return 0
    return this.pushEvent(event, bytes)
  }

  /** Settles once an event after `id` is appended, or the journal ends. */
  async beyond(id: number): Promise<void> {
    while (this.lastId <= id && !this.ended) await new Promise<void>(r => this.wakeReaders.push(r))
  }

  /** Marks the journal complete: readers finish after the last event. */
  end(): void {
    this.ended = true
    this.settle()
    this.wake()
  }

  /**
   * `fn` runs once the ended journal holds what it keeps (`keepEnded`, compacted out of its
   * ring): at once if it does already, else when its last pacing reader leaves.
   */
  whenSettled(fn: () => void): void {
    if (this.settled) fn()
    else this.onSettled = fn
  }

  /**
   * An ended journal keeps its newest output only once no reader paces it: the client of the
   * execution may still be reading what the trim would drop (a flood ends with up to the whole
   * journal unread). Its lines leave the ring then, not at the end: a reader still frames them.
   */
  private settle(): void {
    if (!this.ended || this.pacers > 0 || this.settled) return
    this.settled = true
    this.trimEnded()
    this.compact()
    if (this.spilled > 0) this.offerSpills()
    const fn = this.onSettled
    this.onSettled = undefined
    fn?.()
  }

  /**
   * An ended execution's spilled values are kept for replays while the spills' bound has room
   * and for `keepSpilled` ms at most; a new spill that finds no room takes them, oldest
   * execution first (core/spilled-bytes.ts).
   */
  private offerSpills(): void {
    for (let i = this.head; i < this.entries.length; i++)
      for (const f of this.entries[i]!.spills ?? []) f.offerForRoom(this, this.keepSpilled)
  }

  /**
   * Lets go of `file` for a new spill's room: the events up to the one in it are dropped, and a
   * replay of them says events_dropped. A reader sending it now holds it open until it is done.
   */
  giveUp(file: ReadableBytes): void {
    let last = -1
    for (let i = this.head; i < this.entries.length; i++) if (this.entries[i]!.spills?.includes(file)) last = i
    while (last >= this.head && this.events > 0) this.dropOldest()
  }

  /**
   * The ring an entry is copied into, made on first use, with the room of lines dropped since
   * given back, oldest first, but not a line a reader was handed last: it may not have framed it
   * yet (it is done once it asks for the next one).
   */
  private reclaimedRing(): ByteRing {
    const n = reclaimFrom(this.unreclaimed, this.readers, this.ring)
    if (n > 0) this.unreclaimed.splice(0, n)
    return (this.ring ??= new ByteRing(this.maxBytes))
  }

  /**
   * Events after `afterId` (0 = from the start), then live ones until the journal ends.
   * If some of those were dropped, a `status` event with text `events_dropped` comes first.
   */
  read(
    afterId = 0,
    { paces = true, frames = false }: { paces?: boolean; frames?: boolean } = {},
  ): ReadyIterator<SseItem> {
    const reader: Reader = { cursor: afterId, paces: paces && !this.unpaced, gapReported: false, frames }
    this.readers.add(reader)
    if (reader.paces) this.pacers++
    return new JournalReader(this, reader)
  }

  /** A reader leaves (its end, or its client's): it no longer holds the producer back. */
  detach(reader: Reader): void {
    if (!this.readers.delete(reader)) return
    this.letGoHanded(reader)
    if (reader.paces && --this.pacers === 0) this.settle()
    this.wakeWriter?.()
  }

  /** What `reader` can have now: an item, the end, or undefined (it must wait). */
  step(reader: Reader): IteratorResult<SseItem> | undefined {
    // it asks for the next: the spilled value it was handed last is sent
    if (reader.handed) this.letGoHanded(reader)
    // A pacing reader can miss events only before its first step; a watcher at any step.
    if (!reader.gapReported || !reader.paces) {
      reader.gapReported = true
      const first = this.firstRetainedId
      if (reader.cursor + 1 < first && this.nextId > 1) {
        const dropped = { from: reader.cursor + 1, to: first - 1 }
        reader.cursor = first - 1
        // Its id is the gap's last: a client that resumes from it asks for what follows the gap.
        // Counted by the stream instead, it took the id of the first event dropped (1 on a replay),
        // and a resume from there reported the same gap again.
        const event = makeEvent('status', { text: 'events_dropped', dropped })
        return { done: false, value: { id: dropped.to, event } }
      }
    }
    const entry = this.entryAfter(reader.cursor)
    if (entry) {
      const id = Math.max(entry.id, reader.cursor + 1)
      reader.cursor = entry.run && reader.frames ? entry.run.last : id
      // once: a writer woken looks again and waits anew if it must (not a call per line read)
      const wake = this.wakeWriter
      this.wakeWriter = undefined
      wake?.()
      if (entry.line) return { done: false, value: entry.line }
      if (entry.run) {
        const run = entry.run
        if (!reader.frames) return { done: false, value: run.line(id) }
        return { done: false, value: new OutputFrames(run.last, run.source, run.frameStart(id), run.end) }
      }
      if (entry.spills) {
        for (const f of entry.spills) f.hold()
        reader.handed = entry.spills
      }
      return { done: false, value: { id: entry.id, event: entry.event! } }
    }
    if (this.ended) {
      this.detach(reader)
      return DONE
    }
    return undefined
  }

  private letGoHanded(reader: Reader): void {
    const handed = reader.handed
    reader.handed = undefined
    if (handed) for (const f of handed) f.letGo()
  }

  /** Settles once something is appended or the journal ends. */
  appended(): Promise<void> {
    return new Promise<void>(r => this.wakeReaders.push(r))
  }

  /**
   * Whether making room for `incoming` bytes would drop an event an attached reader has not
   * read yet: the producer then waits. Not just the oldest: an event larger than the rest of
   * the journal pushes out several, and a reader that had taken only the first lost the others
   * without a word (a large javascript value's execution_count).
   */
  private neededFor(incoming: number): boolean {
    if (this.pacers === 0 || !this.full(incoming)) return false
    const walk = this.walk.reset(this.entries, this.head, this.events, this.bytes)
    let last = 0
    while (walk.over(incoming)) last = walk.take()
    for (const r of this.readers) if (r.paces && r.cursor < last) return true
    return false
  }

  private wake(): void {
    // A flood appends with nobody waiting nearly always: no fresh array per line then.
    if (this.wakeReaders.length === 0) return
    const waiting = this.wakeReaders
    this.wakeReaders = []
    for (const w of waiting) w()
  }
}
