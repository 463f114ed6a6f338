/**
 * One WebSocket to a kernel's `channels` endpoint (the server's JSON protocol: every
 * message carries its `channel`). Listeners see every text message; binary frames (comm
 * buffers) are ignored since no execd event can carry them.
 */
import { setAwakeTimeout } from '../../core/awake-clock'
import { nestedDeeperThan } from '../../core/json-depth'
import { PERIODS } from '../../core/periods'
import type { JupyterMessage } from './messages'

const CONNECT_TIMEOUT_MS = PERIODS.channel

/**
 * Nesting past which a frame is dropped unparsed (core/json-depth.ts): an 8 MB frame nested
 * millions deep held the event loop 0.2–1.3 s while parsed. A display's JSON (a chart's spec)
 * nests tens of levels; python's own channel drops results past the same 1,000.
 */
const MAX_MESSAGE_DEPTH = 1000

export class KernelChannel {
  private readonly listeners = new Set<(msg: JupyterMessage) => void>()
  private readonly closeListeners = new Set<(why: string) => void>()
  private closedWhy: string | null = null

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', ev => {
      this.acknowledge()
      if (typeof ev.data !== 'string') return
      // No message nests this deep; a frame that does is dropped before the parser builds it.
      if (nestedDeeperThan(ev.data, MAX_MESSAGE_DEPTH)) return
      let msg: unknown
      try {
        msg = JSON.parse(ev.data)
      } catch {
        return
      }
      // Only an object can be a message: a server's frame `null` threw in a listener, and a
      // throw in a socket's listener ended execd with every context and command in it.
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return
      try {
        for (const l of [...this.listeners]) l(msg as JupyterMessage)
      } catch (e) {
        // A message no listener can read leaves the cell's outcome unknown; the cell hears it as a close.
        this.close(`a message from the server could not be read: ${(e as Error).message}`)
      }
    })
    ws.addEventListener('close', ev => this.markClosed(`code ${ev.code}${ev.reason ? ` ${ev.reason}` : ''}`))
    ws.addEventListener('error', () => this.markClosed('socket error'))
  }

  /**
   * Opens the socket. The server answers the upgrade only once the kernel replied to
   * kernel_info, so an open channel means a kernel ready to execute.
   */
  static open(url: string): Promise<KernelChannel> {
    // The token rides in the URL's query, the one place every Jupyter server accepts it on an upgrade.
    const ws = new WebSocket(url)
    const channel = new KernelChannel(ws)
    return new Promise((resolve, reject) => {
      // On the awake clock: the server's answer may have come during a stop of execd, and on
      // resume a plain timer ran before it was read (docs/stops.md).
      const timer = setAwakeTimeout(() => {
        ws.close()
        reject(new Error(`kernel channel did not open within ${CONNECT_TIMEOUT_MS / 1000} s`))
      }, CONNECT_TIMEOUT_MS)
      ws.addEventListener('open', () => {
        timer.clear()
        resolve(channel)
      })
      channel.onClose(why => {
        timer.clear()
        reject(new Error(`kernel channel failed to open (${why})`))
      })
    })
  }

  get closed(): boolean {
    return this.closedWhy !== null
  }

  send(msg: object): void {
    if (this.closed) throw new Error(`kernel channel closed (${this.closedWhy})`)
    this.ws.send(JSON.stringify(msg))
  }

  /** Adds a listener for every message; returns its removal. */
  subscribe(listener: (msg: JupyterMessage) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Called once when the socket closes (at once if it already has). */
  onClose(listener: (why: string) => void): () => void {
    if (this.closedWhy !== null) {
      listener(this.closedWhy)
      return () => {}
    }
    this.closeListeners.add(listener)
    return () => this.closeListeners.delete(listener)
  }

  close(why = 'closed by execd'): void {
    this.markClosed(why)
    try {
      this.ws.close()
    } catch {}
  }

  /**
   * Jupyter's tornado server writes without TCP_NODELAY, so after one small frame it holds the
   * next until our ACK, which our TCP stack delays up to 40 ms: every cell took ≥ 40 ms. An unsolicited
   * pong (RFC 6455 §5.5.3: no answer expected) carries the ACK at once; a warm cell drops to a
   * few ms. Bun's client has pong(); elsewhere this is a no-op.
   */
  private acknowledge(): void {
    if (this.closedWhy !== null) return
    const ws = this.ws as unknown as { pong?: () => void }
    try {
      ws.pong?.()
    } catch {}
  }

  private markClosed(why: string): void {
    if (this.closedWhy !== null) return
    this.closedWhy = why
    for (const l of [...this.closeListeners]) l(why)
    this.closeListeners.clear()
  }
}
