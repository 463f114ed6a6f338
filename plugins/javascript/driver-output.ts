/**
 * Interpreter side (runs in the child, embedded as text): the cell's own writes (console.*,
 * process.stdout/stderr.write, the driver's reports of late errors) and the driver's messages
 * as frames on the pipe execd gave it, each `[kind][length, u32 LE][bytes]`: 1 stdout, 2
 * stderr, 3 a message's JSON. One pipe keeps them in order (a display between two writes comes
 * between them); a write blocks while the pipe is full, so a writing loop goes at the pace
 * execd reads (one IPC message per write outran it: 1 GiB took execd to 144–176 MiB). Nothing is
 * held back: each write is one frame, written before the call returns, so output streams as it did.
 */
import { writeSync } from 'node:fs'

const HEAD = 5
/** A write up to this many bytes is framed in one buffer and written with one call. */
const SMALL = 64 * 1024
/** A longer string is framed in pieces of this many characters (no copy of it all at once). */
const PIECE = 1 << 20
const STREAMS = { stdout: 1, stderr: 2 } as const
const MESSAGE = 3

export class OutputFrames {
  private broken = false
  /**
   * Bytes written down the pipe so far: the driver tells execd this with each cell's `done` on
   * its other channel, so that a frame head a cell wrote itself, which would swallow the `done`
   * behind it as its own bytes, is told from a cell still running (plugins/javascript/context.ts).
   */
  written = 0

  /** Whether the pipe took every write (a cell may close fd 3: its writes then go nowhere). */
  get whole(): boolean {
    return !this.broken
  }
  private readonly buffer = Buffer.allocUnsafe(HEAD + SMALL)

  constructor(private readonly fd: number) {}

  write(name: 'stdout' | 'stderr', chunk: string | Uint8Array): void {
    const stream = STREAMS[name]
    if (typeof chunk !== 'string') return this.frame(stream, chunk)
    for (let i = 0; i < chunk.length;) {
      let end = Math.min(chunk.length, i + PIECE)
      if (end < chunk.length && isHighSurrogate(chunk.charCodeAt(end - 1))) end-- // a pair stays whole
      const piece = i === 0 && end === chunk.length ? chunk : chunk.slice(i, end)
      if (piece.length * 3 <= SMALL) this.small(stream, piece)
      else this.frame(stream, Buffer.from(piece))
      i = end
    }
  }

  /** A message of the driver's, as its JSON (throws for a value JSON cannot take: a BigInt). */
  message(m: unknown): void {
    const json = JSON.stringify(m)
    if (json.length * 3 <= SMALL) this.small(MESSAGE, json)
    else this.frame(MESSAGE, Buffer.from(json))
  }

  /** A short string encoded straight into the frame's buffer. */
  private small(stream: number, text: string): void {
    const length = this.buffer.write(text, HEAD)
    this.put(stream, length, this.buffer)
  }

  private frame(stream: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return
    if (bytes.length <= SMALL) {
      this.buffer.set(bytes, HEAD)
      return this.put(stream, bytes.length, this.buffer)
    }
    const head = Buffer.allocUnsafe(HEAD)
    this.put(stream, bytes.length, head, 0)
    this.all(bytes)
  }

  /** The head of a frame of `length` bytes in `into`, written with the `extra` bytes after it. */
  private put(stream: number, length: number, into: Buffer, extra = length): void {
    if (length === 0) return
    into[0] = stream
    into.writeUInt32LE(length, 1)
    this.all(into.subarray(0, HEAD + extra))
  }

  private all(bytes: Uint8Array): void {
    if (this.broken) return
    // A pipe takes part of a large write when it has room for part: the rest goes after.
    for (let at = 0; at < bytes.length;) {
      try {
        const n = writeSync(this.fd, bytes, at, bytes.length - at)
        at += n
        this.written += n
      } catch (e) {
        if ((e as { code?: string }).code === 'EAGAIN') {
          Atomics.wait(pause, 0, 0, 1)
          continue
        }
        // The pipe is gone (a cell closed fd 3, or execd did): the cell's writes go nowhere
        // rather than throwing out of its console.log.
        this.broken = true
        return
      }
    }
  }
}

/** Slept on for a millisecond when the pipe is full and would not block. */
const pause = new Int32Array(new SharedArrayBuffer(4))

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff
