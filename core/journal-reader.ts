/**
 * A reader of a journal (core/journal.ts): its place, and the iterator a reply takes its events
 * from.
 */
import type { SseItem } from './sse'
import type { ReadableBytes } from './encoded-part'

/** What a reader's iterator asks of its journal. */
interface ReaderSource {
  step(reader: Reader): IteratorResult<SseItem> | undefined
  appended(): Promise<void>
  detach(reader: Reader): void
}

export interface Reader {
  cursor: number
  /** Whether the producer waits for this reader rather than drop what it has not read. */
  paces: boolean
  /** A gap before its first event was looked for (see Journal.step). */
  gapReported: boolean
  /** It takes a run of output lines as their frames (OutputFrames), not line by line. */
  frames: boolean
  /**
   * The spilled files of the event it was handed last, held until it asks for the next one or
   * leaves: its writer reads them a slice at a time, after the journal may have dropped them.
   */
  handed?: readonly ReadableBytes[]
}

export const DONE: IteratorResult<SseItem> = Object.freeze({ done: true, value: undefined })

/**
 * One reader's iterator (Journal.read): a class, not an object of closures (five were made
 * for every execution's reply).
 */
export class JournalReader implements ReadyIterator<SseItem> {
  constructor(
    private readonly journal: ReaderSource,
    private readonly reader: Reader,
  ) {}

  [Symbol.asyncIterator](): this {
    return this
  }

  async next(): Promise<IteratorResult<SseItem>> {
    for (;;) {
      const now = this.journal.step(this.reader)
      if (now) return now
      await this.journal.appended()
    }
  }

  ready(): IteratorResult<SseItem> | undefined {
    return this.journal.step(this.reader)
  }

  async return(): Promise<IteratorResult<SseItem>> {
    this.journal.detach(this.reader)
    return DONE
  }
}

/**
 * An event iterator that can also say what it has without a promise: `ready()` is `next()`
 * when that would not wait, else undefined. A writer takes a flood's many ready events in a
 * loop instead of a promise, a race and their reactions per event. Call it only while no
 * `next()` is outstanding.
 */
export interface ReadyIterator<T> extends AsyncIterableIterator<T> {
  ready(): IteratorResult<T> | undefined
}
