/**
 * A large bundle's JSON as the driver sends it, in pieces (driver.ts `send`), until the message
 * it belongs to. Held in memory, four unread 50 MB values held 265 MiB of execd until their
 * clients read them; past SPILL_FROM the pieces go to a spilled file (core/spilled-bytes.ts),
 * python's mechanism and bound, and the event is a range of it.
 */
import { EncodedEvent, errorEvent, type ExecEvent } from '../../core/events'
import { SPILL_FROM, SpilledFile } from '../../core/spilled-bytes'

/** The largest bundle taken as pieces of its JSON (as the python channel's limit for one event). */
export const MAX_BULK_BYTES = 128 * 1024 * 1024

export class BulkValue {
  private pieces: Uint8Array[] = []
  private bytes = 0
  private spill: SpilledFile | undefined
  /** Why it is dropped (too large, no room to spill it), in an error's words. */
  private refused: string | undefined

  /** A piece, made bytes as it comes (a bounded step each). */
  add(text: string): void {
    if (this.refused) return void (this.bytes += Buffer.byteLength(text))
    // A character is at most 3 bytes: a piece past the limit is not made bytes to learn so.
    if (this.bytes + text.length > MAX_BULK_BYTES) {
      const size = this.bytes + Buffer.byteLength(text)
      if (size > MAX_BULK_BYTES) {
        this.bytes = size
        return this.drop(`execd takes at most ${MAX_BULK_BYTES >> 20} MiB as one event`)
      }
    }
    const piece = Buffer.from(text)
    this.bytes += piece.length
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

  /** The result event of the pieces received, or the error saying why it was dropped; then empty. */
  take(): ExecEvent {
    const { pieces, spill, refused, bytes } = this
    this.spill = undefined // the event's now
    this.reset()
    if (refused) {
      const evalue = `a value or display of ${(bytes / 2 ** 20).toFixed(1)} MiB was dropped: ${refused}`
      return errorEvent('OutputTooLarge', evalue, [evalue])
    }
    // The pieces as they came: joining them was one copy of it all in one tick (220 ms for 32 MiB).
    return new EncodedEvent('result', spill ? [spill.range(0, spill.size)] : pieces)
  }

  /** Drops what was received (a new cell's pieces start afresh); a spill's room is given back now. */
  reset(): void {
    this.spill?.release()
    this.spill = this.refused = undefined
    this.pieces = []
    this.bytes = 0
  }

  /** True when the piece could not be spilled, and the value is dropped. */
  private append(piece: Uint8Array): boolean {
    const refused = this.spill!.append(piece)?.refused
    if (refused) this.drop(refused)
    return refused !== undefined
  }

  private drop(why: string): void {
    this.spill?.release()
    this.spill = undefined
    this.pieces = []
    this.refused = why
  }
}
