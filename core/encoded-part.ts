/**
 * A piece of an EncodedEvent's JSON (core/events.ts): bytes in memory, or a range of a spilled
 * file (core/spilled-bytes.ts). Apart from that file so that the events, loaded before execd
 * listens, load no file system module for it (core/layout-start.test.ts).
 */

/** A file of bytes written once, read as often as they are sent. */
export interface ReadableBytes {
  /** Bytes start…end, into `into` when given (it must have room), else a buffer of their own. */
  read(start: number, end: number, into?: Uint8Array): Uint8Array
  /** One more holder: the file stays open until each lets go (core/spilled-bytes.ts). */
  hold(): void
  letGo(): void
  /**
   * For `keeper` (an ended execution's journal) to give up when a new spill needs the room, or
   * `keepMs` from now (0: only for room).
   */
  offerForRoom(keeper: { giveUp(file: ReadableBytes): void }, keepMs: number): void
  /** A reader comes for it or is done sending it: its `keepMs` counts from now again. */
  touch(): void
}

/** The distinct spilled files of an event's parts (none: an empty array, shared). */
export function spilledFiles(parts: readonly EncodedPart[]): readonly ReadableBytes[] {
  let files: ReadableBytes[] | undefined
  for (const p of parts) if (p instanceof SpilledRange && !files?.includes(p.file)) (files ??= []).push(p.file)
  return files ?? NONE
}
const NONE: readonly ReadableBytes[] = Object.freeze([])

/** Part of a spilled file. */
export class SpilledRange {
  constructor(
    readonly file: ReadableBytes,
    readonly start: number,
    readonly end: number,
  ) {}

  get length(): number {
    return this.end - this.start
  }
}

export type EncodedPart = Uint8Array | SpilledRange

/** A part's bytes in memory (a spilled one read whole: for readers that want the event). */
export const partBytes = (p: EncodedPart): Uint8Array => (p instanceof SpilledRange ? p.file.read(p.start, p.end) : p)
