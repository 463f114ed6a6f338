/**
 * A large bundle's JSON as the driver sends it, in pieces (driver.ts `send`), until the message
 * it belongs to. Held in memory, four unread 50 MB values held 265 MiB of execd until their
 * clients read them; past SPILL_FROM the pieces go to a spilled file (core/spilled-bytes.ts),
 * python's mechanism and bound, and the event is a range of it.
 */
import { EncodedEvent, errorEvent, type ExecEvent } from '../../core/events'
import { SPILL_FROM, SpilledFile } from '../../core/spilled-bytes'
import { JsonObjectCheck } from '../../core/json-check'

/** The largest bundle taken as pieces of its JSON (as the python channel's limit for one event). */
export const MAX_BULK_BYTES = 128 * 1024 * 1024

export class BulkValue {
  private pieces: Uint8Array[] = []
  private bytes = 0
  private spill: SpilledFile | undefined
  /** Why it is dropped (too large, no room to spill it), in an error's words. */
  private refused: string | undefined
  /**
   * Its bytes are one JSON object so far: a cell's own `process.send({ t: 'bulk', text })` is
   * heard as the driver's, and its text went to clients as the event's JSON, a newline in it
   * making events of its own in the stream.
   */
  private check = new JsonObjectCheck()
  /** They are not (no message of the driver's): dropped without a word, as python's. */
  private malformed = false

  /** A piece, made bytes as it comes (a bounded step each). */
  add(text: string): void {
    if (this.malformed) return
    // A refused value's bytes are checked still: its error is said only for the driver's value.
    const piece = Buffer.from(text)
    if (!this.check.push(piece)) return this.drop(undefined)
    this.bytes += piece.length
    if (this.refused) return
    if (this.bytes > MAX_BULK_BYTES) return this.drop(`execd takes at most ${MAX_BULK_BYTES >> 20} MiB as one event`)
    if (!this.spill && this.bytes < SPILL_FROM) return void this.pieces.push(piece)
    if (!this.spill) {
      const file = SpilledFile.open(0)
      // No file can be made here (no O_TMPFILE, TMPDIR unwritable): held in memory, as before.
      if (file === undefined) return void this.pieces.push(piece)
      if (!(file instanceof SpilledFile)) return this.drop(file.refused)
      this.spill = file
      for (const p of this.pieces.splice(0)) if (this.append(p)) return
    }
    this.append(piece)
  }

  /**
   * The result event of the pieces received, or the error saying why it was dropped, or nothing
   * when they were not one JSON object; then empty.
   */
  take(): ExecEvent | undefined {
    const { pieces, spill, refused, bytes } = this
    const whole = !this.malformed && this.check.complete
    this.spill = undefined // the event's now
    this.reset()
    if (refused && whole) {
      const evalue = `a value or display of ${(bytes / 2 ** 20).toFixed(1)} MiB was dropped: ${refused}`
      return errorEvent('OutputTooLarge', evalue, [evalue])
    }
    if (!whole) return void spill?.release()
    // The pieces as they came: joining them was one copy of it all in one tick (220 ms for 32 MiB).
    return new EncodedEvent('result', spill ? [spill.range(0, spill.size)] : pieces)
  }

  /** Drops what was received (a new cell's pieces start afresh); a spill's room is given back now. */
  reset(): void {
    this.spill?.release()
    this.spill = this.refused = undefined
    this.pieces = []
    this.bytes = 0
    this.check = new JsonObjectCheck()
    this.malformed = false
  }

  /** True when the piece could not be spilled, and the value is dropped. */
  private append(piece: Uint8Array): boolean {
    const refused = this.spill!.append(piece)?.refused
    if (refused) this.drop(refused)
    return refused !== undefined
  }

  /** `why` it is refused, or undefined: it is not JSON. */
  private drop(why: string | undefined): void {
    this.spill?.release()
    this.spill = undefined
    this.pieces = []
    if (why === undefined) this.malformed = true
    else this.refused = why
  }
}
