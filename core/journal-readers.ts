/**
 * The readers of a journal (core/journal.ts): where each is, which of them pace the producer,
 * what a reader's next step gives (a gap said as `events_dropped`, an entry as its item, the
 * spilled value it was handed held until it asks again), and the waits on either side: readers
 * for what is appended, the producer for the pacing readers behind. The journal adds appending,
 * its end and what an ended one keeps.
 */
import { makeEvent } from './events'
import type { SseItem } from './sse'
import { ByteRing } from './byte-ring'
import { DONE, JournalReader, type ReadyIterator, type Reader } from './journal-reader'
import { reclaimFrom } from './journal-entries'
import { JournalStore } from './journal-store'
import { OutputFrames } from './output-frames'

export abstract class JournalReaders extends JournalStore {
  protected readonly readers = new Set<Reader>()
  /** How many of `readers` pace the producer. */
  protected pacers = 0
  /** Events appended with spilled parts (held: `Entry.spills`). */
  protected spilled = 0
  /** `stopPacing()` was called: readers attached later do not pace either. */
  protected unpaced = false
  private wakeReaders: (() => void)[] = []
  /** The producer, waiting for a pacing reader to take what making room would drop. */
  protected wakeWriter: (() => void) | undefined

  /** Whether a pacing reader is attached (its reading paces the producer). */
  get followed(): boolean {
    return this.pacers > 0
  }

  /** Settles once an event after `id` is appended, or the journal ends. */
  async beyond(id: number): Promise<void> {
    while (this.lastId <= id && !this.ended) await new Promise<void>(r => this.wakeReaders.push(r))
  }

  /**
   * The ring an entry is copied into, made on first use, with the room of lines dropped since
   * given back, oldest first, but not a line a reader was handed last: it may not have framed it
   * yet (it is done once it asks for the next one).
   */
  protected reclaimedRing(): ByteRing {
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
    // A replay or resume on its way to an ended execution's large values: their time counts from
    // now (a slow replay's earlier events must not outlast it).
    if (this.spilled > 0) this.touchSpillsAfter(afterId)
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
        for (const f of entry.spills) (f.hold(), f.touch())
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

  protected letGoHanded(reader: Reader): void {
    const handed = reader.handed
    reader.handed = undefined
    // sent (or left): its time counts from the end of its last read, not its execution's
    if (handed) for (const f of handed) (f.touch(), f.letGo())
  }

  private touchSpillsAfter(afterId: number): void {
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!
      if (entry.spills && entry.id > afterId) for (const f of entry.spills) f.touch()
    }
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
  protected neededFor(incoming: number): boolean {
    if (this.pacers === 0 || !this.full(incoming)) return false
    const walk = this.walk.reset(this.entries, this.head, this.events, this.bytes)
    let last = 0
    while (walk.over(incoming)) last = walk.take()
    for (const r of this.readers) if (r.paces && r.cursor < last) return true
    return false
  }

  protected wake(): void {
    // A flood appends with nobody waiting nearly always: no fresh array per line then.
    if (this.wakeReaders.length === 0) return
    const waiting = this.wakeReaders
    this.wakeReaders = []
    for (const w of waiting) w()
  }

  /** An ended journal with no pacing reader left keeps what it keeps (Journal.settle). */
  protected abstract settle(): void
}
