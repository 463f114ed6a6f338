/** A PTY WebSocket client for the contract tests: decodes the reference's frames as they arrive. */
import type { Daemon } from './harness'
import { UPGRADE_HEADERS } from './kit/upgrade-headers'

export type Frame =
  | { kind: 'stdout' | 'stderr'; text: string }
  | { kind: 'replay'; offset: number; text: string }
  | { kind: 'json'; raw: string; value: any }

export class PtyClient {
  readonly frames: Frame[] = []
  closed: { code: number; reason: string } | null = null
  private readonly decoder = new TextDecoder()

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'arraybuffer'
    ws.onmessage = e => {
      if (typeof e.data === 'string') {
        this.frames.push({ kind: 'json', raw: e.data, value: JSON.parse(e.data) })
        return
      }
      const bytes = new Uint8Array(e.data as ArrayBuffer)
      if (bytes[0] === 0x03) {
        const offset = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(1))
        this.frames.push({ kind: 'replay', offset, text: this.decoder.decode(bytes.subarray(9)) })
      } else {
        this.frames.push({
          kind: bytes[0] === 0x01 ? 'stdout' : 'stderr',
          text: this.decoder.decode(bytes.subarray(1)),
        })
      }
    }
    ws.onclose = e => (this.closed = { code: e.code, reason: e.reason })
  }

  /** Opens `/pty/<id>/ws?<query>` with the daemon's token; rejects if the handshake fails. */
  static async connect(d: Daemon, id: string, query = ''): Promise<PtyClient> {
    const url = `${d.url.replace('http', 'ws')}/pty/${id}/ws${query ? `?${query}` : ''}`
    const ws = new WebSocket(url, { headers: { 'X-EXECD-ACCESS-TOKEN': d.token } } as unknown as string[])
    const client = new PtyClient(ws)
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve()
      ws.onerror = () => reject(new Error(`WebSocket to ${url} failed`))
    })
    return client
  }

  /** All stdout (0x01) text so far. */
  get stdout(): string {
    return this.frames.map(f => (f.kind === 'stdout' ? f.text : '')).join('')
  }

  get stderr(): string {
    return this.frames.map(f => (f.kind === 'stderr' ? f.text : '')).join('')
  }

  json(type: string): any[] {
    return this.frames.flatMap(f => (f.kind === 'json' && f.value.type === type ? [f.value] : []))
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame))
  }

  stdin(text: string): void {
    this.ws.send(new Uint8Array([0x00, ...new TextEncoder().encode(text)]))
  }

  async until(what: string, check: () => boolean, limitMs = 15_000): Promise<void> {
    const deadline = Date.now() + limitMs
    while (!check()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(-2000)}`)
      await Bun.sleep(10)
    }
  }

  close(): void {
    this.ws.close()
  }
}

/** Sends a raw WebSocket handshake with fetch, to see the HTTP answer given instead of 101. */
export const handshake = (d: Daemon, path: string) =>
  d.fetch(path, {
    headers: UPGRADE_HEADERS,
  })
