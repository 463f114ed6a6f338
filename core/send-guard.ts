/**
 * A download sent from the file itself (past --download-copy-max, or where no copy can be made)
 * goes out by sendfile, whose pages stay the file's until the client has read them: a
 * truncation while they wait in the socket's queues zeroes them (the page of the cut, or its
 * whole large folio), and the client got the whole Content-Length, with zeros where the file
 * had data (measured on 6.18, ext4, the client not reading: 5,000,000 bytes of which 1,194,303
 * zeros, answered in full). This watches the file while its answer is being sent or waits in
 * the kernel, and when it shrinks below what was promised resets the connection:
 * connect(AF_UNSPEC) on a TCP socket drops what is still queued and sends RST, so the client
 * sees the answer fail short of its length instead of taking the zeros as the file.
 *
 * Bun does not say which descriptor carries a request: it is found among the process's
 * sockets by its two ends (the server's port, the peer requestIP gave while the answer began).
 */
import { closeSync, fstatSync, readdirSync, readlinkSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { receivedOf, whenAnswered, type Answer } from './answering'
import { libcFile } from './libc'

const AF_UNSPEC = 0
const AF_INET = 2
const AF_INET6 = 10
const TIOCOUTQ = 0x5411
const F_DUPFD_CLOEXEC = 1030
/** How often a guarded file's size is looked at. */
const CHECK_MS = 50

interface Sockets {
  getsockname(fd: number, address: Uint8Array, length: Uint32Array): number
  getpeername(fd: number, address: Uint8Array, length: Uint32Array): number
  connect(fd: number, address: Uint8Array, length: number): number
  ioctl(fd: number, request: number, value: Int32Array): number
  fcntl(fd: number, command: number, arg: number): number
}

let lib: Sockets | null | undefined

function sockets(): Sockets | null {
  if (lib !== undefined) return lib
  try {
    const { dlopen, FFIType } = require('bun:ffi') as typeof import('bun:ffi')
    const { i32, ptr, u32, u64 } = FFIType
    lib = dlopen(libcFile(), {
      getsockname: { args: [i32, ptr, ptr], returns: i32 },
      getpeername: { args: [i32, ptr, ptr], returns: i32 },
      connect: { args: [i32, ptr, u32], returns: i32 },
      ioctl: { args: [i32, u64, ptr], returns: i32 },
      fcntl: { args: [i32, i32, i32], returns: i32 },
    }).symbols as unknown as Sockets
  } catch {
    lib = null
  }
  return lib
}

/** The port of a sockaddr_in/in6, and its address as text (IPv4-mapped IPv6 as IPv4). */
function endOf(address: Uint8Array): { port: number; host: string } | undefined {
  const family = address[0]! | (address[1]! << 8)
  const port = (address[2]! << 8) | address[3]!
  if (family === AF_INET) return { port, host: address.subarray(4, 8).join('.') }
  if (family !== AF_INET6) return undefined
  const raw = address.subarray(8, 24)
  if (raw.subarray(0, 10).every(b => b === 0) && raw[10] === 0xff && raw[11] === 0xff)
    return { port, host: raw.subarray(12, 16).join('.') }
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((raw[i]! << 8) | raw[i + 1]!).toString(16))
  return { port, host: groups.join(':') }
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; IPv6 in the long form endOf gives. */
function normalHost(host: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host)
  if (mapped) return mapped[1]!
  if (!host.includes(':')) return host
  const [head = '', tail = ''] = host.split('::')
  const a = head ? head.split(':') : []
  const b = tail ? tail.split(':') : []
  const full = host.includes('::') ? [...a, ...Array(8 - a.length - b.length).fill('0'), ...b] : a
  return full.map(g => parseInt(g, 16).toString(16)).join(':')
}

/** The descriptor of the TCP connection from `peer` to `localPort`, if exactly one is found. */
function connectionFd(s: Sockets, localPort: number, peer: { port: number; host: string }): number | undefined {
  const address = new Uint8Array(128)
  const length = new Uint32Array(1)
  const found: number[] = []
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (!readlinkSync(`/proc/self/fd/${name}`).startsWith('socket:')) continue
    } catch {
      continue
    }
    const fd = Number(name)
    length[0] = address.length
    if (s.getsockname(fd, address, length) !== 0 || endOf(address)?.port !== localPort) continue
    length[0] = address.length
    if (s.getpeername(fd, address, length) !== 0) continue
    const end = endOf(address)
    if (end && end.port === peer.port && end.host === peer.host) found.push(fd)
  }
  return found.length === 1 ? found[0] : undefined
}

/**
 * Resets the answer's connection if `file` shrinks below `end` before the answer has left the
 * machine's queues; false when it cannot be watched (no server, no peer, no FFI), and the
 * caller keeps what it did before. Holds `file` open until then; closes it after.
 */
export function guardSend(file: FileHandle, end: number, answer: Answer | undefined): boolean {
  const server = answer?.server as (Answer['server'] & { port?: number }) | undefined
  if (!answer || !server || typeof server.port !== 'number') return false
  const ip = server.requestIP(receivedOf(answer.request)) as { address?: string; port?: number } | null
  if (!ip || typeof ip.address !== 'string' || typeof ip.port !== 'number') return false
  const s = sockets()
  if (!s) return false
  const peer = { port: ip.port, host: normalHost(ip.address) }
  const found = connectionFd(s, server.port, peer)
  if (found === undefined) return false
  // A descriptor of our own: Bun closes its own once it has handed the last bytes to the kernel
  // (Connection: close), while they may still wait there. Ours keeps the socket, so it can still
  // be reset, and lets it close when the guard ends.
  // Close-on-exec: a command spawned meanwhile must not hold the connection open.
  const fd = s.fcntl(found, F_DUPFD_CLOEXEC, 0)
  if (fd < 0) return false
  let answered = false
  if (!whenAnswered(answer, () => (answered = true))) {
    closeSync(fd)
    return false
  }
  const queued = new Int32Array(1)
  const stop = () => {
    clearInterval(timer)
    try {
      closeSync(fd)
    } catch {}
    void file.close().catch(() => {})
  }
  const timer = setInterval(() => {
    let size = end
    try {
      size = fstatSync(file.fd).size
    } catch {}
    // A file that shrank makes sendfile stop short too, and Bun then ends the answer as if it
    // were whole: reset, the client sees it fail at once whichever way it was cut.
    if (size < end) {
      s.connect(fd, new Uint8Array(16).fill(AF_UNSPEC), 16)
      return stop()
    }
    // Over once Bun is done with it and the kernel has nothing of it left to send (a client
    // that went: nothing left either).
    if (answered && (s.ioctl(fd, TIOCOUTQ, queued) !== 0 || queued[0] === 0)) stop()
  }, CHECK_MS)
  timer.unref?.()
  return true
}
