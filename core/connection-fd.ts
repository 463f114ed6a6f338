/**
 * The descriptor of the TCP connection a request came on. Bun does not say which one carries a
 * request: it is found among the process's sockets by its two ends (the server's port, the peer
 * `requestIP` gives while the request is answered), and a duplicate of it is held, so that the
 * number cannot come to mean another connection once Bun closes its own.
 *
 * Each look was a pass over every descriptor of the process on the event loop (a readlink, a
 * getsockname and a getpeername each): with 1,000 connections open, 8 ms of the loop per upload
 * watched. What a pass finds is kept, every connection of the server's port by its two ends and
 * its number, so a request on a connection seen before (a client's kept-alive one) costs two
 * calls on that number, to check it is still that connection. A pass is still needed for a
 * connection new since the last: it skips the sockets it knows by their inode (one fstat each
 * instead of three calls), and the client watch's runs in slices between which the loop turns.
 */
import { fstatSync, readdirSync } from 'node:fs'
import { receivedOf, type Answer } from './answering'
import { libcCalls } from './libc'

const AF_INET = 2
const AF_INET6 = 10
const F_DUPFD_CLOEXEC = 1030

export interface Sockets {
  getsockname(fd: number, address: Uint8Array, length: Uint32Array): number
  getpeername(fd: number, address: Uint8Array, length: Uint32Array): number
  connect(fd: number, address: Uint8Array, length: number): number
  shutdown(fd: number, how: number): number
  ioctl(fd: number, request: number, value: Int32Array): number
  fcntl(fd: number, command: number, arg: number): number
  getsockopt(fd: number, level: number, name: number, value: Uint8Array, length: Uint32Array): number
}

let lib: Sockets | null | undefined

/** The C library's socket calls, or null where FFI cannot load it. */
export function sockets(): Sockets | null {
  if (lib !== undefined) return lib
  lib = libcCalls<Sockets>(({ FFIType: { i32, ptr, u32, u64 } }) => ({
    getsockname: { args: [i32, ptr, ptr], returns: i32 },
    getpeername: { args: [i32, ptr, ptr], returns: i32 },
    connect: { args: [i32, ptr, u32], returns: i32 },
    shutdown: { args: [i32, i32], returns: i32 },
    ioctl: { args: [i32, u64, ptr], returns: i32 },
    fcntl: { args: [i32, i32, i32], returns: i32 },
    getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
  }))
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

type End = { port: number; host: string }

const address = new Uint8Array(128)
const length = new Uint32Array(1)

/** The two ends of socket `fd`: its local port and its peer; undefined for anything else. */
function endsOf(s: Sockets, fd: number): { localPort: number; peer: End } | undefined {
  length[0] = address.length
  // ENOTSOCK for a descriptor that is no socket: the one call tells.
  if (s.getsockname(fd, address, length) !== 0) return undefined
  const localPort = endOf(address)?.port
  if (localPort === undefined) return undefined
  length[0] = address.length
  if (s.getpeername(fd, address, length) !== 0) return undefined
  const peer = endOf(address)
  return peer && { localPort, peer }
}

const keyOf = (localPort: number, peer: End) => `${localPort} ${peer.host} ${peer.port}`

/**
 * A pass's findings: each connection of interest by its ends (its number and inode; fd -1: two
 * sockets had those ends), and the ends' key of each socket by its inode ('' when none).
 */
interface Known {
  byEnds: Map<string, { fd: number; ino: number }>
  byInode: Map<number, { fd: number; key: string }>
}
let known: Known = { byEnds: new Map(), byInode: new Map() }

/** Whether `fd` is still the connection from `peer` to `localPort`. */
function isConnection(s: Sockets, fd: number, localPort: number, peer: End): boolean {
  const ends = endsOf(s, fd)
  return ends !== undefined && keyOf(ends.localPort, ends.peer) === keyOf(localPort, peer)
}

let passes = 0
/** Passes over the process's descriptors made so far (what the tests count). */
export const passesMade = (): number => passes

/** Descriptors a pass looks at before the client watch's lets the loop turn. */
const SLICE = 256

/**
 * A pass over the process's descriptors, yielding between slices; its findings replace the last
 * pass's once it is done. A socket at the number and inode the last pass saw it at keeps the
 * ends it had (a socket's ends never change once connected).
 */
function* pass(s: Sockets): Generator<void, Known> {
  passes++
  const found: Known = { byEnds: new Map(), byInode: new Map() }
  const names = readdirSync('/proc/self/fd')
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % SLICE === 0) yield
    const fd = Number(names[i])
    let ino: number
    try {
      const st = fstatSync(fd)
      if (!st.isSocket()) continue
      ino = st.ino
    } catch {
      continue
    }
    const seen = known.byInode.get(ino)
    let key = seen?.fd === fd ? seen.key : undefined
    if (key === undefined) {
      const ends = endsOf(s, fd)
      key = ends ? keyOf(ends.localPort, ends.peer) : ''
    }
    found.byInode.set(ino, { fd, key })
    if (!key) continue
    // One socket at two numbers (a duplicate a watch holds) is still the one connection.
    const other = found.byEnds.get(key)
    found.byEnds.set(key, other && other.ino !== ino ? { fd: -1, ino } : { fd, ino })
  }
  known = found
  return found
}

/** The number of the connection from `peer` to `localPort` that a pass found, checked now. */
function foundIn(s: Sockets, found: Known, localPort: number, peer: End): number | undefined {
  const fd = found.byEnds.get(keyOf(localPort, peer))?.fd
  return fd !== undefined && fd >= 0 && isConnection(s, fd, localPort, peer) ? fd : undefined
}

/** The descriptor of the TCP connection from `peer` to `localPort`, if exactly one is found. */
function connectionFd(s: Sockets, localPort: number, peer: End): number | undefined {
  const cached = foundIn(s, known, localPort, peer)
  if (cached !== undefined) return cached
  // At once, whole: what needs the number now (a download's guard) cannot wait for the loop.
  const scan = pass(s)
  let step = scan.next()
  while (!step.done) step = scan.next()
  return foundIn(s, step.value, localPort, peer)
}

/** The pass in slices running now, and when it started. */
let running: { since: number; done: Promise<Known> } | undefined

/**
 * connectionFd, its pass (if one is needed) in slices between which the loop turns. One pass
 * serves every watch whose connection was there when it started (`since`: when the request was
 * seen): 20 uploads looking at once made 20 passes.
 */
async function connectionFdSoon(s: Sockets, localPort: number, peer: End, since: number): Promise<number | undefined> {
  const cached = foundIn(s, known, localPort, peer)
  if (cached !== undefined) return cached
  if (!running || running.since < since) {
    const started = { since: performance.now(), done: sliced(s) }
    running = started
    void started.done.finally(() => running === started && (running = undefined))
  }
  return foundIn(s, await running.done, localPort, peer)
}

async function sliced(s: Sockets): Promise<Known> {
  const scan = pass(s)
  let step = scan.next()
  while (!step.done) {
    await new Promise(resolve => setImmediate(resolve))
    step = scan.next()
  }
  return step.value
}

/** What `heldConnection` needs of an answer: the server's port, the peer; undefined when it cannot be told. */
function endsOfAnswer(answer: Answer | undefined): { s: Sockets; localPort: number; peer: End } | undefined {
  const server = answer?.server as (Answer['server'] & { port?: number }) | undefined
  if (!answer || !server || typeof server.port !== 'number') return undefined
  const ip = server.requestIP(receivedOf(answer.request)) as { address?: string; port?: number } | null
  if (!ip || typeof ip.address !== 'string' || typeof ip.port !== 'number') return undefined
  const s = sockets()
  return s ? { s, localPort: server.port, peer: { port: ip.port, host: normalHost(ip.address) } } : undefined
}

/** A close-on-exec duplicate of `fd`. */
function held(s: Sockets, fd: number | undefined): { fd: number; s: Sockets } | undefined {
  if (fd === undefined) return undefined
  const dup = s.fcntl(fd, F_DUPFD_CLOEXEC, 0)
  return dup < 0 ? undefined : { fd: dup, s }
}

/**
 * A close-on-exec duplicate of the connection `answer` is on (a command spawned meanwhile must
 * not hold it open), the caller's to close; undefined when it cannot be told (no server, a
 * unix socket, the answer already sent, no FFI).
 */
export function heldConnection(answer: Answer | undefined): { fd: number; s: Sockets } | undefined {
  const ends = endsOfAnswer(answer)
  return ends && held(ends.s, connectionFd(ends.s, ends.localPort, ends.peer))
}

/**
 * heldConnection for a caller that can wait: a pass it needs lets the loop turn between slices.
 * `since`: when the request was seen (a pass started after it finds its connection).
 */
export async function heldConnectionSoon(
  answer: Answer | undefined,
  since: number,
): Promise<{ fd: number; s: Sockets } | undefined> {
  const ends = endsOfAnswer(answer)
  if (!ends) return undefined
  // Checked (foundIn) after the loop last turned: the number is still the connection's.
  return held(ends.s, await connectionFdSoon(ends.s, ends.localPort, ends.peer, since))
}
