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
 *
 * Its readers (where each is, which pace, what each step gives) are core/journal-readers.ts.
 */
import { EncodedEvent, lineEvent, OutputBytes, type ExecEvent } from './events'
import { freeChunk } from './chunks'
import type { OutputLine } from './lines'
import { estimateBytes, lineBytes, planRun, type Entry } from './journal-entries'
import { JournalReaders } from './journal-readers'
import type { ByteRing } from './byte-ring'
import { spilledFiles, type ReadableBytes } from './encoded-part'
import { frameHead, frameRun, frameTail } from './output-frames'

export type { ReadyIterator } from './journal-reader'

export class Journal extends JournalReaders {
  /** Trimmed and compacted once ended and no reader paces it (`settle`). */
  private settled = false
  private onSettled: (() => void) | undefined

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
  protected settle(): void {
    if (!this.ended || this.pacers > 0 || this.settled) return
    this.settled = true
    this.trimEnded()
    const ring = this.compact()
    if (ring) this.freeOnceUnread(ring)
    if (this.spilled > 0) this.offerSpills()
    const fn = this.onSettled
    this.onSettled = undefined
    fn?.()
  }

  /**
   * The ring an ended journal has moved its output out of, freed now rather than at a
   * collection when no reader is attached: a flood's cell left its 4 MiB to the collector, and
   * the next flood's ring was made beside it. Not in this tick: the writer whose reader just
   * ended may still frame the last batch it took from the ring (core/sse-batch.ts lends it).
   */
  private freeOnceUnread(ring: ByteRing): void {
    if (this.readers.size > 0) return
    setImmediate(() => {
      if (this.readers.size === 0) freeChunk(ring.buffer)
    })
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
}
