/**
 * CLOCK_BOOTTIME in procfs ticks (USER_HZ, 100 on Linux), read through the C library's
 * clock_gettime: the vDSO answers it without entering the kernel. It is the clock of a stat's
 * start time and of /proc/uptime (both count from boot, a time namespace's offset included), and
 * every command's reaping reads it (core/ownership.ts): /proc/uptime, read again from a kept
 * descriptor, cost 11–13 µs a read on the event loop, this 0.4–0.7 µs.
 */
import { libcSymbols } from './libc'

const CLOCK_BOOTTIME = 7
const NS_PER_TICK = 10_000_000

type Reader = () => number | undefined

let reader: Reader | null | undefined

function load(): Reader | null {
  const symbols = libcSymbols(({ FFIType }) => ({
    clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  }))?.symbols
  if (!symbols) return null
  // struct timespec on the 64-bit targets execd is built for: tv_sec, tv_nsec, 8 bytes each.
  const ts = new BigInt64Array(2)
  return () => {
    if (symbols.clock_gettime(CLOCK_BOOTTIME, ts) !== 0) return undefined
    // Whole seconds and the ticks of the fraction apart: exact where `seconds * 100` in
    // floating point is not (/proc/uptime's 12345.67 made 1234566).
    return Number(ts[0]) * 100 + Math.floor(Number(ts[1]) / NS_PER_TICK)
  }
}

/** Ticks since boot now; undefined where the C library cannot be called (the caller reads /proc/uptime). */
export function bootTicks(): number | undefined {
  if (reader === undefined) reader = load()
  return reader ? reader() : undefined
}
