/**
 * Raw HTTP over a socket, for what fetch cannot send (an empty Host, HTTP/1.0, a head that
 * announces a body it never sends) and to see whether the server closed the connection.
 */
import { connect } from 'node:net'

export interface RawReply {
  status: number
  headers: Record<string, string>
  body: string
  /** The server closed the connection (within `waitMs` after the reply). */
  closed: boolean
}

/**
 * Sends `head` (and `body`), reads the reply; waits up to `waitMs` for the server to close.
 * `whole`: done once the head and its Content-Length of body are in, without waiting for a close
 * that a kept-alive connection never sends (`closed` then says only whether it came first).
 */
export function rawRequest(port: number, head: string, body = '', waitMs = 2000, whole = false): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    let done = false
    const finish = (closed: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const end = data.indexOf('\r\n\r\n')
      if (end < 0) return reject(new Error(`no reply head (closed=${closed}): ${JSON.stringify(data.slice(0, 200))}`))
      const [statusLine, ...lines] = data.slice(0, end).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({ status: Number(statusLine?.split(' ')[1]), headers, body: data.slice(end + 4), closed })
    }
    const timer = setTimeout(() => finish(false), waitMs)
    socket.setEncoding('latin1')
    socket.on('data', chunk => {
      data += chunk
      if (whole && isWhole(data)) finish(false)
    })
    socket.on('close', () => finish(true))
    socket.on('error', err => (data ? finish(true) : reject(err)))
    socket.write(head.replace(/\n/g, '\r\n') + '\r\n\r\n' + body)
  })
}

/** Whether `data` holds a reply head and all the body its Content-Length announces. */
export function isWhole(data: string): boolean {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return false
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(data.slice(0, end))?.[1]
  return length !== undefined && data.length - end - 4 >= Number(length)
}

/** A connection to the daemon for a request written piece by piece; the reply gathered as text. */
export interface RawConnection {
  write(bytes: string | Buffer): void
  /** The reply so far, as latin1 text. */
  readonly data: string
  /** The daemon closed the connection. */
  readonly closed: boolean
  /** Resolves once the connection closed or failed. */
  readonly gone: Promise<void>
  /** Resolves once the reply is whole (isWhole), or the connection is gone. */
  readonly answered: Promise<void>
  /** The status and the body of the reply so far. */
  reply(): { status: number; body: string }
  end(): void
}

export async function openRaw(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url)
  let data = ''
  let closed = false
  const gone = Promise.withResolvers<void>()
  const answered = Promise.withResolvers<void>()
  const end = () => {
    gone.resolve()
    answered.resolve()
  }
  const socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_s, chunk) {
        data += chunk.toString('latin1')
        if (isWhole(data)) answered.resolve()
      },
      close() {
        closed = true
        end()
      },
      error: end,
    },
  })
  return {
    write: bytes => void socket.write(bytes),
    get data() {
      return data
    },
    get closed() {
      return closed
    },
    gone: gone.promise,
    answered: answered.promise,
    reply() {
      const end = data.indexOf('\r\n\r\n')
      return { status: Number(data.split(' ')[1] ?? 0), body: end < 0 ? '' : data.slice(end + 4) }
    },
    end: () => socket.end(),
  }
}

/** The daemon's port from its URL. */
export const portOf = (url: string): number => Number(new URL(url).port)
