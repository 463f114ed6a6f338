/**
 * Linux's TCP_DEFER_ACCEPT on the listening socket, longer: a connection that has sent no data
 * stays in the kernel (a half-open entry, no file descriptor) instead of being handed to Bun.
 * Bun sets it to 1 s itself, which a flood outlasts: connections that never send a request took
 * every fd of execd one second after they came, and held a new /ping until Bun closed them after
 * its own fixed 10 s (core/connections.ts), its accept loop spinning meanwhile (2,000 under a
 * 256-fd limit: /ping 35 s, 84-100% of a core). What Linux does, measured on 6.18:
 * - a client that sends its request after connecting is accepted when its first bytes arrive;
 * - one that sends nothing is accepted anyway once the period ends (rounded up to the SYN-ACK
 *   retransmission steps: 1, 3, 7, 15, 31, 63… s), and Bun's 10 s start then;
 * - the waiting entries count against the listen backlog; beyond it, new connections get SYN
 *   cookies and a cookie's connection is accepted at once, data or not. So the backlog is raised
 *   to the system's cap (net.core.somaxconn, 4096 by default): that many silent connections cost
 *   execd nothing, where Bun's own backlog of 512 let the 513th in.
 * Bun.serve does not expose its listening socket: it is found among the process's descriptors
 * as the one listening (SO_ACCEPTCONN) on the server's port.
 */
import { readdirSync, readlinkSync } from 'node:fs'
import { libcCalls } from './libc'
import type { Logger } from './log'

const SOL_SOCKET = 1
const SO_ACCEPTCONN = 30
const IPPROTO_TCP = 6
const TCP_DEFER_ACCEPT = 9
const AF_INET = 2
const AF_INET6 = 10
// listen(2) caps a larger backlog at net.core.somaxconn.
const MAX_BACKLOG = 0xffff

interface Sockets {
  getsockopt(fd: number, level: number, name: number, value: Int32Array, length: Uint32Array): number
  setsockopt(fd: number, level: number, name: number, value: Int32Array, length: number): number
  getsockname(fd: number, address: Uint8Array, length: Uint32Array): number
  listen(fd: number, backlog: number): number
}

function load(): Sockets | null {
  return libcCalls<Sockets>(({ FFIType: { i32, ptr, u32 } }) => ({
    getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
    setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
    getsockname: { args: [i32, ptr, ptr], returns: i32 },
    listen: { args: [i32, i32], returns: i32 },
  }))
}

/** The descriptors of this process listening on TCP `port` (IPv4 or IPv6). */
function listenersOn(lib: Sockets, port: number): number[] {
  const found: number[] = []
  const flag = new Int32Array(1)
  const address = new Uint8Array(128)
  const length = new Uint32Array(1)
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name)
    try {
      if (!readlinkSync(`/proc/self/fd/${name}`).startsWith('socket:')) continue
    } catch {
      continue // closed meanwhile (the readdir's own descriptor)
    }
    length[0] = 4
    if (lib.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, flag, length) !== 0 || flag[0] !== 1) continue
    length[0] = address.length
    if (lib.getsockname(fd, address, length) !== 0) continue
    const family = address[0]! | (address[1]! << 8)
    if (family !== AF_INET && family !== AF_INET6) continue
    if (((address[2]! << 8) | address[3]!) === port) found.push(fd)
  }
  return found
}

/**
 * Sets TCP_DEFER_ACCEPT to `seconds` on the server's listening sockets and raises their backlog
 * to the system's cap; returns how many it set. Where that cannot be done (not Linux, no FFI, no
 * listener found) it says so once and execd carries on as without. 0: nothing is done.
 */
export function deferAccept(port: number, seconds: number, log: Logger): number {
  if (seconds <= 0) return 0
  const fail = (why: string) => {
    log.warn('connections are accepted before they send anything (--defer-accept not applied)', { reason: why })
    return 0
  }
  if (process.platform !== 'linux') return fail(`not Linux (${process.platform})`)
  const lib = load()
  if (!lib) return fail('cannot load libc through bun:ffi')
  let fds: number[]
  try {
    fds = listenersOn(lib, port)
  } catch (err) {
    return fail(`cannot list descriptors: ${(err as Error).message}`)
  }
  if (fds.length === 0) return fail(`no listening socket found on port ${port}`)
  // The option is a C int: 2^31 would wrap to a negative value and 2^32 to 0, each of which turns
  // it off (Bun's 1 s too). The kernel caps it at 255 SYN-ACK steps (~8.5 h) anyway.
  const value = Int32Array.of(Math.min(seconds, 0x7fffffff))
  for (const fd of fds) {
    if (lib.setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, value, 4) !== 0) return fail('setsockopt refused')
    // Only after the option is set: a larger queue of connections accepted at once would not help.
    lib.listen(fd, MAX_BACKLOG)
  }
  return fds.length
}
