/**
 * poll(2) on one descriptor through the C library: what a connection or a pipe says of itself
 * (room to write, its peer gone) without reading or writing it. Apart from core/connection-fd's
 * socket calls because that module loads node:fs when evaluated, and help written into a full pipe
 * (cmd/help-wrap.ts) waits here from a module a serve start may evaluate before it listens
 * (core/layout-start.test.ts): this one loads nothing until it is first called.
 */
import { libcCalls } from './libc'

export const POLLOUT = 0x4
export const POLLERR = 0x8
export const POLLHUP = 0x10
export const POLLNVAL = 0x20
export const POLLRDHUP = 0x2000

interface Poll {
  poll(fds: Int32Array, count: number, timeoutMs: number): number
}

let libc: Poll | null | undefined
// struct pollfd: the descriptor, then events and revents (two shorts, little-endian). A call is
// synchronous, so one serves every caller.
const pollfd = new Int32Array(2)

/**
 * Which of `events` (and of POLLERR, POLLHUP, POLLNVAL, which are always told) hold for `fd`,
 * waiting up to `timeoutMs` for one (0: now; -1: until one does): poll's revents, 0 when none
 * came in time; -1 when poll failed (EINTR: a signal came first), undefined where poll(2) is not
 * to be had (no FFI): the caller falls back.
 */
export function pollOne(fd: number, events: number, timeoutMs: number): number | undefined {
  libc ??= libcCalls<Poll>(({ FFIType: { i32, ptr, u64 } }) => ({ poll: { args: [ptr, u64, i32], returns: i32 } }))
  if (!libc) return undefined
  pollfd[0] = fd
  pollfd[1] = events
  return libc.poll(pollfd, 1, timeoutMs) < 0 ? -1 : pollfd[1]! >>> 16
}
