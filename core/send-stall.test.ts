import { expect, test } from 'bun:test'
import { closeSync } from 'node:fs'
import { heldConnection, sockets, type Sockets } from './connection-fd'
import { guardSending, sendProgress, StallClock } from './send-stall'
import { sharedTimers } from './shared-interval'

test('a client that takes nothing while bytes wait is stalled once the period has passed', () => {
  const clock = new StallClock(1000)
  expect(clock.look({ taken: 10, waiting: 500 }, 0)).toBe(false)
  expect(clock.look({ taken: 10, waiting: 500 }, 999)).toBe(false)
  expect(clock.look({ taken: 10, waiting: 500 }, 1000)).toBe(true)
})

test('a client that takes a little each period is never stalled', () => {
  const clock = new StallClock(1000)
  for (let at = 0, taken = 0; at < 10_000; at += 900, taken += 1024)
    expect(clock.look({ taken, waiting: 65_536 }, at)).toBe(false)
})

test('nothing waiting is the answer’s own pause, not the client’s', () => {
  const clock = new StallClock(1000)
  expect(clock.look({ taken: 10, waiting: 0 }, 0)).toBe(false)
  expect(clock.look({ taken: 10, waiting: 0 }, 5000)).toBe(false)
  expect(clock.look({ taken: 10, waiting: 3 }, 5500)).toBe(false)
  expect(clock.look({ taken: 10, waiting: 3 }, 6000)).toBe(true)
})

test('where the kernel cannot tell, the time runs', () => {
  const clock = new StallClock(1000)
  expect(clock.look({ taken: 10, waiting: 3 }, 0)).toBe(false)
  expect(clock.look(undefined, 500)).toBe(false)
  expect(clock.look(undefined, 1000)).toBe(true)
})

test("a real connection's progress is read from the kernel: what it acknowledged, what waits", async () => {
  const s = sockets()!
  let serverSide: { fd: number; s: Sockets } | undefined
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (request, srv) => {
      serverSide = heldConnection({ request, server: srv })
      return new Response('ok')
    },
  })
  try {
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('ok')
    expect(serverSide).toBeDefined()
    // Main 1ed198c's build: sockets() had lost getsockopt and this threw (a stall look ended execd).
    const progress = sendProgress(serverSide!.fd, s)
    expect(progress).toBeDefined()
    expect(progress!.taken).toBeGreaterThan(0)
    expect(progress!.waiting).toBeGreaterThanOrEqual(0)
  } finally {
    if (serverSide) closeSync(serverSide.fd)
    server.stop(true)
  }
})

test('every guarded answer is looked at by one shared timer, which stops with the last guard', async () => {
  const jobs = () => sharedTimers().get(1000) ?? 0
  const before = jobs()
  const stops: (() => void)[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (request, srv) => {
      stops.push(guardSending({ request, server: srv }, [], () => {}))
      return new Response('ok')
    },
  })
  try {
    // Twenty connections, each its own guard (stop 51: each its own 1 s timer).
    await Promise.all(Array.from({ length: 20 }, async () => (await fetch(`http://127.0.0.1:${server.port}/`)).text()))
    for (let i = 0; i < 100 && jobs() === before; i++) await Bun.sleep(10)
    expect(stops).toHaveLength(20)
    expect(jobs()).toBe(before + 1)
    for (const stop of stops) stop()
    expect(jobs()).toBe(before)
  } finally {
    for (const stop of stops) stop()
    server.stop(true)
  }
})
