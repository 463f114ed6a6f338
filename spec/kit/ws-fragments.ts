/**
 * A WebSocket client on a raw socket, for what WebSocket clients never send: a message begun in
 * fragments and never finished (FIN never set). Bun holds such a message's fragments until it
 * ends or passes maxPayloadLength, so many sockets doing this hold the daemon's memory.
 */
import { connect, type Socket } from 'node:net'

export class FragmentingSocket {
  private data = Buffer.alloc(0)
  closed = false
  private wake?: () => void

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk])
      this.wake?.()
    })
    socket.on('close', () => {
      this.closed = true
      this.wake?.()
    })
    socket.on('error', () => {})
  }

  /** Opens `path` as a WebSocket with `token`; rejects unless the answer is a 101. */
  static async open(port: number, path: string, token: string): Promise<FragmentingSocket> {
    const socket = connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
    const ws = new FragmentingSocket(socket)
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-EXECD-ACCESS-TOKEN: ${token}\r\nConnection: Upgrade\r\n` +
        'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    )
    await ws.until(() => ws.data.includes('\r\n\r\n'))
    if (ws.closed && !ws.data.includes('\r\n\r\n')) throw new Error(`${path}: closed before an answer`)
    const head = ws.data.toString('latin1', 0, ws.data.indexOf('\r\n\r\n'))
    if (!head.startsWith('HTTP/1.1 101')) throw new Error(`no upgrade: ${head}`)
    ws.data = ws.data.subarray(ws.data.indexOf('\r\n\r\n') + 4)
    return ws
  }

  /**
   * Sends `total` bytes of one binary message in fragments of `size`, the last one only if
   * `finish`; the first byte is a terminal's stdin channel. Resolves once the kernel took them
   * or the server closed the connection.
   */
  async sendMessage(total: number, finish = false, size = 64 * 1024): Promise<void> {
    for (let sent = 0; sent < total && !this.closed; sent += size) {
      const n = Math.min(size, total - sent)
      const last = finish && sent + n >= total
      const ok = this.socket.write(frame((last ? 0x80 : 0) | (sent === 0 ? 0x2 : 0x0), Buffer.alloc(n, 0)))
      if (!ok) await new Promise<void>(r => this.socket.once('drain', r).once('close', r))
    }
  }

  /** Bytes the server sent after its 101. */
  get received(): number {
    return this.data.length
  }

  /** Waits until `done()` or the connection ends. */
  async until(done: () => boolean): Promise<void> {
    while (!done() && !this.closed) await new Promise<void>(r => (this.wake = r))
  }

  /** Sends a ping, which may come between a message's fragments (RFC 6455 §5.4). */
  ping(): void {
    this.socket.write(frame(0x89, Buffer.alloc(0)))
  }

  /** The opcodes of the whole frames the server sent so far. */
  get opcodes(): number[] {
    const out: number[] = []
    let at = 0
    while (at + 2 <= this.data.length) {
      let len = this.data[at + 1]! & 0x7f
      let start = at + 2
      if (len === 126) ((len = this.data.readUInt16BE(at + 2)), (start += 2))
      else if (len === 127) ((len = Number(this.data.readBigUInt64BE(at + 2))), (start += 8))
      if (start + len > this.data.length) break
      out.push(this.data[at]! & 0x0f)
      if ((this.data[at]! & 0x0f) === 0x8) this.code = len >= 2 ? this.data.readUInt16BE(start) : 1005
      at = start + len
    }
    return out
  }

  private code?: number

  /** The close code of a close frame the server sent, once it has, or undefined. */
  get closeCode(): number | undefined {
    void this.opcodes
    return this.code
  }

  /** Whether the server answered a ping. */
  get ponged(): boolean {
    return this.opcodes.includes(0xa)
  }

  /** Waits until the server closed the connection or sent its close frame. */
  async ended(): Promise<void> {
    while (!this.closed && this.closeCode === undefined) await new Promise<void>(r => (this.wake = r))
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/**
 * A client frame (RFC 6455 §5.2) of `first` (FIN and opcode), masked with a zero key — a key
 * the RFC allows, which leaves the payload as it is: no copy to mask megabytes.
 */
function frame(first: number, payload: Buffer): Buffer {
  const n = payload.length
  const head =
    n < 126
      ? Buffer.from([first, 0x80 | n])
      : n < 65536
        ? Buffer.from([first, 0x80 | 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([first, 0x80 | 127]), u64(n)])
  return Buffer.concat([head, Buffer.alloc(4), payload])
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}
