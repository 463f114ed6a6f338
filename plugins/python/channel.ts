/**
 * JSON lines over the socketpair fd a runtime's interpreter gets as fd 3 (spawnOwned's
 * extraFds): execd's protocol channel, apart from the user's stdout/stderr.
 */
import { closeSync, writeSync } from 'node:fs'
import { JsonLines } from '../../core/json-lines'
import { sleep } from '../../core/timers'

export class LineChannel {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly decoder = new TextDecoder()
  private readonly splitter = new JsonLines()
  /** Lines received and not yet handed out. */
  private lines: string[] = []
  private closed = false
  private fdOpen = true
  private writing: Promise<void> = Promise.resolve()
  /** Sends chained on `writing` and not yet done. */
  private queued = 0

  constructor(private readonly fd: number) {
    this.reader = Bun.file(fd).stream().getReader()
  }

  /** The next message, or undefined once the other side has closed (or died). */
  async next(): Promise<Record<string, any> | undefined> {
    for (;;) {
      const line = this.lines.shift()
      if (line !== undefined) {
        if (!line.trim()) continue
        try {
          return JSON.parse(line)
        } catch {
          continue // a torn line (interpreter killed mid-write) is not a message
        }
      }
      if (this.closed) return undefined
      let chunk: { done: boolean; value?: Uint8Array }
      try {
        chunk = await this.reader.read()
      } catch {
        chunk = { done: true, value: undefined }
      }
      if (chunk.done) {
        this.closed = true
        continue
      }
      this.lines = this.splitter.push(this.decoder.decode(chunk.value!, { stream: true }))
    }
  }

  /**
   * Sends one message; writes are serialised and retried while the socket buffer is full. With
   * none waiting it is written at once, before anything else the caller's tick does: a cell's
   * code then reaches the interpreter before execd sets up the response it will fill.
   */
  send(message: unknown): Promise<void> {
    const data = Buffer.from(`${JSON.stringify(message)}\n`)
    let offset = 0
    if (this.queued === 0 && !this.closed) {
      try {
        offset = writeSync(this.fd, data)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return Promise.reject(err)
      }
      if (offset === data.length) return Promise.resolve()
    }
    this.queued++
    this.writing = this.writing.then(async () => {
      while (offset < data.length) {
        if (this.closed) throw new Error('interpreter channel is closed')
        try {
          offset += writeSync(this.fd, data, offset)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
          await sleep(2)
        }
      }
    })
    void this.writing.finally(() => this.queued--).catch(() => {})
    return this.writing
  }

  /** Closes our end (Bun does not close extra stdio fds). Idempotent. */
  close(): void {
    if (!this.fdOpen) return
    this.fdOpen = false
    this.closed = true
    void this.reader.cancel().catch(() => {})
    try {
      closeSync(this.fd)
    } catch {}
  }
}
