/**
 * Time in one place: `sleep`, `within` (a promise or a timeout), and timers for client-given
 * durations. setTimeout keeps its delay in a signed 32-bit int: a
 * delay of 2³¹ ms or more fires at once, so a 3e9 ms command timeout would kill immediately.
 * Long delays are chained in steps that fit; Infinity (or anything past Number.MAX_SAFE_INTEGER)
 * never fires.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

export interface LongTimer {
  clear(): void
}

export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  let handle: ReturnType<typeof setTimeout> | undefined
  let cleared = false
  if (!(ms <= Number.MAX_SAFE_INTEGER)) return { clear: () => {} } // Infinity, NaN: never
  const deadline = performance.now() + Math.max(0, ms)
  const arm = () => {
    const left = deadline - performance.now()
    if (left <= MAX_TIMER_MS) {
      handle = setTimeout(() => !cleared && fn(), Math.max(0, left))
    } else {
      handle = setTimeout(() => !cleared && arm(), MAX_TIMER_MS)
    }
  }
  arm()
  return {
    clear: () => {
      cleared = true
      if (handle) clearTimeout(handle)
    },
  }
}

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** Resolves on the event loop's next turn, after pending I/O has been seen to. */
export const nextTurn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

/**
 * `promise`, or 'timeout' after `ms`, for every bounded wait (never a hand-rolled
 * `Promise.race` with a sleep): the timer is cleared once the race is decided, so it never
 * outlives it (a CLI verb must exit) nor keeps a settled wait's closure alive.
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  // One promise of its own: an async function, Promise.race and a timeout promise were three,
  // on every warm cell's hold (core/sse.ts).
  if (!(ms <= MAX_TIMER_MS)) return withinLong(promise, ms)
  return new Promise<T | 'timeout'>((resolve, reject) => {
    const timer = setTimeout(() => resolve('timeout'), ms)
    promise.then(
      value => {
        clearTimeout(timer)
        resolve(value)
      },
      err => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}

/**
 * within() past setTimeout's range, where a wait from a flag or a request (`--body-timeout
 * 3000000000`, an interrupt grace) fired after 1 ms: every JSON body that did not arrive in one
 * piece was a 408 "not received within 3000000000 ms".
 */
const withinLong = <T>(promise: Promise<T>, ms: number) => withinTimer(promise, fire => setLongTimeout(fire, ms))

/** `promise`, or 'timeout' once the timer `start` sets fires; the timer cleared once it is decided. */
export function withinTimer<T>(promise: Promise<T>, start: (fire: () => void) => { clear(): void }) {
  return new Promise<T | 'timeout'>((resolve, reject) => {
    const timer = start(() => resolve('timeout'))
    promise.then(
      value => {
        timer.clear()
        resolve(value)
      },
      err => {
        timer.clear()
        reject(err)
      },
    )
  })
}
