/**
 * Interpreter side (runs in the child, embedded as text) of the driver's channel to execd, its
 * fd 4 (a socketpair; plugins/javascript/channel.ts is execd's side): `run` comes as a JSON line,
 * and the driver's `sent` and a cell's own `process.send` go back as JSON lines. Not Bun's IPC:
 * execd read that channel with Bun's reader, which held bytes without a bound until a newline.
 */
import { fstatSync, writeSync } from 'node:fs'

type Message = Record<string, unknown> & { t: string }

export class DriverChannel {
  private socket: { terminate(): void; ref(): void; unref(): void } | undefined
  private readonly decoder = new TextDecoder()
  /** The line still without its newline, in pieces. */
  private pending: string[] = []
  /** Whether the channel is still there (neither end closed it). */
  open = true
  /** What the fd is (device and inode) once the channel started: `intact` compares. */
  private identity: [number, number] = [-1, -1]

  constructor(
    private readonly fd: number,
    private readonly onMessage: (m: Message) => void,
    private readonly onClose: () => void,
  ) {}

  /** Reads the fd as a socket of the event loop: it keeps the driver alive, as the IPC channel did. */
  async start(): Promise<void> {
    const options = {
      fd: this.fd,
      socket: {
        data: (_s: unknown, chunk: Uint8Array) => this.received(chunk),
        end: () => this.closed(),
        error: () => this.closed(),
        close: () => this.closed(),
      },
    }
    this.socket = await Bun.connect(options as unknown as Bun.UnixSocketOptions<undefined>)
    const s = fstatSync(this.fd)
    this.identity = [s.dev, s.ino]
  }

  /**
   * Whether the fd is still the channel. A cell's own `fs.closeSync(4)` tells the socket's reader
   * nothing (closing an fd takes it out of epoll without a word): the cell ended as if all were
   * well, and the next one, sent down a channel execd had seen end, was the one to fail. An open
   * after the close may take the number: it is then another file, never the channel.
   */
  intact(): boolean {
    try {
      const s = fstatSync(this.fd)
      return s.dev === this.identity[0] && s.ino === this.identity[1]
    } catch {
      return false
    }
  }

  /** Each chunk searched once for its newlines: a cell's code of many MiB comes in many chunks. */
  private received(chunk: Uint8Array): void {
    const text = this.decoder.decode(chunk, { stream: true })
    let at = 0
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
      this.pending.push(text.slice(at, nl))
      at = nl + 1
      const line = this.pending.join('')
      this.pending = []
      try {
        this.onMessage(JSON.parse(line))
      } catch {} // only execd writes this end's lines; a throw of the handler ends no more than its message
    }
    if (at < text.length) this.pending.push(text.slice(at))
  }

  private closed(): void {
    if (!this.open) return
    this.open = false
    this.onClose()
  }

  /**
   * One JSON line, written whole before the call returns (the fd is non-blocking: a full socket is
   * waited on a millisecond at a time). Throws when the channel is gone, as the IPC's send did.
   */
  sendJson(json: string): void {
    if (!this.open) throw new Error('process.send: the channel to execd is closed')
    const bytes = Buffer.from(`${json}\n`)
    for (let at = 0; at < bytes.length;) {
      try {
        at += writeSync(this.fd, bytes, at, bytes.length - at)
      } catch (e) {
        if ((e as { code?: string }).code !== 'EAGAIN') throw e
        Atomics.wait(pause, 0, 0, 1)
      }
    }
  }

  send(m: Message): void {
    this.sendJson(JSON.stringify(m))
  }

  /** The channel keeps the process alive (a one-shot run's settle lets it go: driver-settle.ts). */
  ref(): void {
    this.socket?.ref()
  }

  unref(): void {
    this.socket?.unref()
  }

  /** Closes the channel (process.disconnect): execd hears its end. */
  close(): void {
    this.socket?.terminate()
    this.closed()
  }
}

/** Slept on for a millisecond when the socket is full. */
const pause = new Int32Array(new SharedArrayBuffer(4))
