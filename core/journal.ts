/**
 * A bounded, replayable journal of one execution's events: the basis of resumable streams
 * (CONTRACT §2). Events get ids 1, 2, 3, ... Readers replay from any id still retained and then
 * follow live. Memory is bounded by event count and bytes: while a live reader is behind, the
 * producer waits (backpressure); with no reader attached, the oldest events are dropped, and a
 * reader that later asks for them is told so with an explicit `status` event.
 */
import { makeEvent, type ExecEvent } from './events'
import type { SseItem } from './sse'

interface JournalLimits {
  maxEvents?: number
  maxBytes?: number
}

interface Entry {
  id: number
  event: ExecEvent
  bytes: number
}

export class Journal {
  private entries: Entry[] = []
  private head = 0 // index of the oldest retained entry in `entries`
  private bytes = 0
  private nextId = 1
  private ended = false
  private readonly maxEvents: number
  private readonly maxBytes: number
  private readonly readers = new Set<Reader>()
  private wakeReaders: (() => void)[] = []
  private wakeWriter: (() => void) | undefined

  constructor(limits: JournalLimits = {}) {
    this.maxEvents = limits.maxEvents ?? 4096
    this.maxBytes = limits.maxBytes ?? 4 * 1024 * 1024
  }

  /** Id of the last event appended (0 when none). */
  get lastId(): number {
    return this.nextId - 1
  }

  /** Id of the oldest event still retained. */
  get firstRetainedId(): number {
    return this.entries[this.head]?.id ?? this.nextId
  }

  get done(): boolean {
    return this.ended
  }

  /**
   * Appends an event. Resolves at once unless the journal is full and an attached reader still
   * needs the oldest event; then it waits for that reader (the producer should stop reading its
   * source meanwhile, which pushes back on the process writing the output).
   */
  async append(event: ExecEvent): Promise<number> {
    if (this.ended) throw new Error('journal has ended')
    const bytes = estimateBytes(event)
    while (this.full(bytes) && this.oldestNeeded()) {
      await new Promise<void>(r => (this.wakeWriter = r))
    }
    return this.push(event, bytes)
  }

  private push(event: ExecEvent, bytes: number): number {
    while (this.full(bytes) && this.size > 0) this.dropOldest()
    const id = this.nextId++
    this.entries.push({ id, event, bytes })
    this.bytes += bytes
    this.wake()
    return id
  }

  /**
   * Appends at once when that needs no waiting, and returns the id; 0 when `append` would
   * wait. Lets a producer add a chunk's many events in one go, so readers see them together.
   */
  tryAppend(event: ExecEvent): number {
    if (this.ended) throw new Error('journal has ended')
    const bytes = estimateBytes(event)
    if (this.full(bytes) && this.oldestNeeded()) return 0
    return this.push(event, bytes)
  }

  /** Marks the journal complete: readers finish after the last event. */
  end(): void {
    this.ended = true
    this.wake()
  }

  /**
   * Events after `afterId` (0 = from the start), then live ones until the journal ends.
   * If some of those were dropped, a `status` event with text `events_dropped` comes first.
   */
  read(afterId = 0): AsyncIterableIterator<SseItem> {
    const reader: Reader = { cursor: afterId }
    this.readers.add(reader)
    const journal = this
    let gapReported = false
    const detach = () => {
      journal.readers.delete(reader)
      journal.wakeWriter?.()
    }
    return {
      [Symbol.asyncIterator]() {
        return this
      },
      async next(): Promise<IteratorResult<SseItem>> {
        for (;;) {
          const first = journal.firstRetainedId
          if (!gapReported && reader.cursor + 1 < first && journal.nextId > 1) {
            gapReported = true
            const dropped = { from: reader.cursor + 1, to: first - 1 }
            reader.cursor = first - 1
            return { done: false, value: { event: makeEvent('status', { text: 'events_dropped', dropped }) } }
          }
          gapReported = true
          const entry = journal.entryAfter(reader.cursor)
          if (entry) {
            reader.cursor = entry.id
            journal.wakeWriter?.()
            return { done: false, value: { id: entry.id, event: entry.event } }
          }
          if (journal.ended) {
            detach()
            return { done: true, value: undefined }
          }
          await new Promise<void>(r => journal.wakeReaders.push(r))
        }
      },
      async return(): Promise<IteratorResult<SseItem>> {
        detach()
        return { done: true, value: undefined }
      },
    }
  }

  private get size(): number {
    return this.entries.length - this.head
  }

  private full(incoming: number): boolean {
    return this.size >= this.maxEvents || (this.size > 0 && this.bytes + incoming > this.maxBytes)
  }

  private oldestNeeded(): boolean {
    const oldest = this.entries[this.head]
    if (!oldest) return false
    for (const r of this.readers) if (r.cursor < oldest.id) return true
    return false
  }

  private dropOldest(): void {
    const e = this.entries[this.head++]
    if (!e) return
    this.bytes -= e.bytes
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
  }

  private entryAfter(cursor: number): Entry | undefined {
    const first = this.entries[this.head]
    if (!first) return undefined
    const index = this.head + Math.max(0, cursor + 1 - first.id)
    return this.entries[index]
  }

  private wake(): void {
    const waiting = this.wakeReaders
    this.wakeReaders = []
    for (const w of waiting) w()
  }
}

interface Reader {
  cursor: number
}

function estimateBytes(e: ExecEvent): number {
  let n = 96
  if (e.text) n += e.text.length * 2
  if (e.results) for (const v of Object.values(e.results)) n += typeof v === 'string' ? v.length * 2 : 256
  if (e.error) n += e.error.evalue.length * 2 + e.error.traceback.reduce((a, l) => a + l.length * 2, 0)
  return n
}
