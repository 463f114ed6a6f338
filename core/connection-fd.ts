/**
 * The descriptor of the TCP connection a request came on. Bun does not say which one carries a
 * request: it is found among the process's sockets by its two ends (the server's port, the peer
 * `requestIP` gives while the request is answered), and a duplicate of it is held, so that the
 * number cannot come to mean another connection once Bun closes its own.
 */
import { readdirSync, readlinkSync } from 'node:fs'
import { receivedOf, type Answer } from './answering'
import { libcFile } from './libc'

const AF_INET = 2
const AF_INET6 = 10
const F_DUPFD_CLOEXEC = 1030

export interface Sockets {
  getsockname(fd: number, address: Uint8Array, length: Uint32Array): number
  getpeername(fd: number, address: Uint8Array, length: Uint32Array): number
  connect(fd: number, address: Uint8Array, length: number): number
  ioctl(fd: number, request: number, value: Int32Array): number
  fcntl(fd: number, command: number, arg: number): number
  poll(fds: Int32Array, count: number, timeoutMs: number): number
}

let lib: Sockets | null | undefined

/** The C library's socket calls, or null where FFI cannot load it. */
export function sockets(): Sockets | null {
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
      poll: { args: [ptr, u64, i32], returns: i32 },
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
 * A close-on-exec duplicate of the connection `answer` is on (a command spawned meanwhile must
 * not hold it open), the caller's to close; undefined when it cannot be told (no server, a
 * unix socket, the answer already sent, no FFI).
 */
export function heldConnection(answer: Answer | undefined): { fd: number; s: Sockets } | undefined {
  const server = answer?.server as (Answer['server'] & { port?: number }) | undefined
  if (!answer || !server || typeof server.port !== 'number') return undefined
  const ip = server.requestIP(receivedOf(answer.request)) as { address?: string; port?: number } | null
  if (!ip || typeof ip.address !== 'string' || typeof ip.port !== 'number') return undefined
  const s = sockets()
  if (!s) return undefined
  const found = connectionFd(s, server.port, { port: ip.port, host: normalHost(ip.address) })
  if (found === undefined) return undefined
  const fd = s.fcntl(found, F_DUPFD_CLOEXEC, 0)
  return fd < 0 ? undefined : { fd, s }
}
