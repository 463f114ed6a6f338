/**
 * The javascript driver's pipe (driver-output.ts writes it): frames of its cell's stdout and
 * stderr and of its own messages, `[kind][length, u32 LE][bytes]`, in the order written. Each
 * read's runs of one stream are put together where they lie (the heads between frames squeezed
 * out) and go to the cell as one chunk (core/output-chunks.ts), as a go kernel's pipe does: a
 * flood of 1 KiB writes is a few events per read, not one per write. A message is handled where
 * it lies, after the output before it. The pipe is read as execd takes it, so a writing loop
 * goes at that pace.
 */
import { closeSync } from 'node:fs'
import type { CellAssembler } from '../../core/cell-assembler'
import { freeChunk } from '../../core/chunks'
import type { Logger } from '../../core/log'
import { OutputChunks } from '../../core/output-chunks'
import { ReadGatherer } from '../../core/read-gather'
import { openFdSocket } from '../../core/fd-socket'
import { MAX_MESSAGE_DEPTH, nestedDeeperThan } from '../../core/json-depth'

const HEAD = 5
const STDOUT = 0
const MESSAGE = 2
/**
 * The largest message taken: the driver's are a bulk piece (256 Ki characters), a `done` with a
 * small bundle, or an error of two 2 Mi-character texts. A larger one is skipped, not gathered.
 */
const MAX_MESSAGE_BYTES = 16 << 20

interface Run {
  stream: number
  start: number
  end: number
}

export class OutputPipe {
  private readonly chunks = [new OutputChunks('stdout'), new OutputChunks('stderr')]
  /** The frame being read: its kind (0 stdout, 1 stderr, 2 message), its bytes still to come, its head so far. */
  private kind = STDOUT
  private left = 0
  private readonly head = new Uint8Array(HEAD)
  private headFill = 0
  /** The message being read, piece by piece; undefined while one too large is skipped. */
  private message: Uint8Array[] | undefined
  /** Bytes read and taken so far. */
  private taken = 0
  /** What to call once `taken` reaches `at` (whenTaken). */
  private waiting: { at: number; then: () => void } | undefined

  constructor(
    private readonly cells: CellAssembler,
    private readonly onMessage: (m: unknown) => void,
    /** Called once the pipe carried bytes that are not frames: the driver can no longer be heard. */
    private readonly onBroken: () => void,
    /** Called once the pipe ended (the driver exited, or a cell closed its end). */
    private readonly onEnd: () => void,
    private readonly log: Logger,
  ) {}

  /**
   * Reads the pipe at `fd` to its end, as a socket of the event loop (core/fd-socket.ts), as
   * the channels of both runtimes are read. While a read's frames are taken (a cell's queue
   * full, a flood's gather) the socket is paused: the driver then blocks on its writes, as it
   * did when the fd was read on demand.
   */
  async pump(fd: number): Promise<void> {
    const reads: Uint8Array[] = []
    const gathered = new ReadGatherer()
    let taking = false
    let paused: Bun.Socket<undefined> | undefined
    let ended = false
    let finish!: () => void
    const finished = new Promise<void>(resolve => (finish = resolve))
    const drain = async (socket: Bun.Socket<undefined>) => {
      taking = true
      try {
        for (let data = reads.shift(); data; data = reads.shift()) {
          const bytes = data.byteLength
          await this.take(data)
          this.taken += bytes
          this.callIfTaken()
          const gather = gathered.after(bytes)
          if (!gather) continue
          socket.pause()
          paused = socket
          await gather
        }
      } catch {
        // The pipe breaks when the interpreter dies; its exit reports that.
      }
      taking = false
      if (ended) return finish()
      if (paused) paused.resume()
      paused = undefined
    }
    const end = () => {
      ended = true
      if (!taking) finish()
    }
    let socket: Bun.Socket<undefined> | undefined
    try {
      socket = await openFdSocket(fd, {
        data: (s, chunk) => {
          // Copied: the chunk is Bun's, and a taken run is freed (core/chunks.ts) or kept.
          const own = new Uint8Array(chunk.byteLength)
          own.set(chunk)
          reads.push(own)
          if (!taking) return void drain(s)
          s.pause()
          paused = s
        },
        end,
      })
    } catch {
      try {
        closeSync(fd)
      } catch {}
      end()
    }
    await finished
    socket?.terminate()
    for (const chunks of this.chunks) await this.cells.output(chunks.stream, chunks.end())
    this.onEnd()
  }

  /**
   * Calls `then` once the pipe's first `at` bytes are read and handled (at once if they are):
   * the driver says how far its own frames went, so a frame it did not write is told by where
   * the reader stands there. One at a time: a later call replaces an earlier one.
   */
  whenTaken(at: number, then: () => void): void {
    this.waiting = { at, then }
    this.callIfTaken()
  }

  private callIfTaken(): void {
    const w = this.waiting
    if (!w || this.taken < w.at) return
    this.waiting = undefined
    w.then()
  }

  /** One read's frames to the cells, a run of one stream at a time; `data` is freed. */
  private async take(data: Uint8Array): Promise<void> {
    let run: Run = { stream: this.kind, start: 0, end: 0 }
    for (let at = 0; at < data.length;) {
      if (this.left === 0) {
        this.head[this.headFill++] = data[at++]!
        if (this.headFill === HEAD) this.startFrame()
        continue
      }
      const n = Math.min(this.left, data.length - at)
      if (this.kind === MESSAGE) {
        // Copied: the read's bytes are squeezed and freed under it.
        this.message?.push(data.slice(at, at + n))
        at += n
        this.left -= n
        if (this.left > 0) continue
        // The output before it goes first.
        await this.give(data, run)
        run = { stream: this.kind, start: at, end: at }
        this.endMessage()
        // A display queues whatever the bound (push does not wait): the pipe waits for the
        // reader here, as for output. A cell's own display frames on fd 3 held 400 MiB of execd.
        const room = this.cells.running?.whenRoom()
        if (room) await room
        continue
      }
      if (run.stream !== this.kind) {
        await this.give(data, run)
        run = { stream: this.kind, start: at, end: at }
      } else if (run.end === run.start) run.start = run.end = at
      else if (run.end !== at) data.copyWithin(run.end, at, at + n)
      run.end += n
      at += n
      this.left -= n
    }
    await this.give(data, run)
    // A run of the whole read was freed as it was given (a freed view has no bytes left).
    if (data.byteLength > 0) freeChunk(data)
  }

  /** The frame whose head was just read; a head no driver writes turns the rest into stdout. */
  private startFrame(): void {
    this.headFill = 0
    const h = this.head
    const kind = h[0]! - 1
    const length = (h[1]! | (h[2]! << 8) | (h[3]! << 16)) + h[4]! * 0x1000000
    if (kind === MESSAGE) {
      this.message = length <= MAX_MESSAGE_BYTES ? [] : undefined
      if (!this.message) this.log.warn('javascript: a message of the driver too large to take was skipped', { length })
      this.kind = kind
      this.left = length
      if (length === 0) this.endMessage()
      return
    }
    if (kind === 0 || kind === 1) {
      this.kind = kind
      this.left = length
      return
    }
    // Something other than the driver wrote to its fd 3 (a cell's own writeSync, a subprocess
    // that inherited it): what follows cannot be framed, and is output still until it ends.
    this.log.warn('javascript: the driver pipe carried bytes that are not frames; the interpreter is stopped')
    this.kind = STDOUT
    this.left = Infinity
    this.onBroken()
  }

  private endMessage(): void {
    const pieces = this.message
    this.message = undefined
    if (!pieces) return
    const text = Buffer.concat(pieces).toString()
    // A cell's own frame nested 50,000 deep threw where its event was framed, and execd ended.
    if (nestedDeeperThan(text, MAX_MESSAGE_DEPTH))
      return this.log.warn('javascript: a message nested too deep to take was skipped', { max: MAX_MESSAGE_DEPTH })
    let m: unknown
    try {
      m = JSON.parse(text)
    } catch {
      this.log.warn('javascript: the driver sent a message that is not JSON')
      return
    }
    this.onMessage(m)
  }

  private give(data: Uint8Array, run: Run): Promise<void> | undefined {
    if (run.end === run.start) return
    return this.cells.outputChunk(this.chunks[run.stream]!, data.subarray(run.start, run.end))
  }
}
