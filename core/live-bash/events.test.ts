import { expect, test } from 'bun:test'
import { OutputBytes } from '../events'
import { liveShells } from '../../spec/kit/live-shells'
import { childrenOf, readStat } from '../procfs'
import { waitFor } from '../../spec/harness'
import { bashRunEvents } from './events'

const start = liveShells()

test('output lines come as bytes, and a chunk is freed once the reader has asked past its lines', async () => {
  const run = bashRunEvents(start(), "head -c 1000000 /dev/zero | tr '\\0' x | fold -w 999", { id: 's', ended: '' })
  const types: string[] = []
  let text = ''
  const lines: OutputBytes[] = []
  let ids = 0
  for (;;) {
    // As the SSE writer takes them: what is ready without a promise, then a wait.
    const r = run.ready() ?? (await run.next())
    if (r.done) break
    expect(r.value.id).toBe(++ids)
    types.push(r.value.event.type)
    if (r.value instanceof OutputBytes) {
      lines.push(r.value)
      text += new TextDecoder().decode(r.value.data)
    } else if (r.value.event.type === 'stdout') text += r.value.event.text
  }
  expect(types.slice(0, 2)).toEqual(['init', 'ping'])
  expect(types.at(-1)).toBe('execution_complete')
  expect(text).toBe('x'.repeat(1_000_000))
  // The chunks went back to the allocator as the reader moved on, not at a GC: the views the
  // reader was handed are empty now (but the first chunk's, which the splitter copied once to
  // look for a byte order mark).
  const freed = lines.filter(l => l.data.byteLength === 0).length
  expect(freed).toBeGreaterThan(lines.length / 2)
})

test('a run never read starts nothing and calls neither hook; one read calls each once, abandoned too', async () => {
  const bash = start()
  const calls: string[] = []
  const hooks = { onStart: () => calls.push('start'), onEnd: () => calls.push('end') }
  const unread = bashRunEvents(bash, 'echo never', { id: 'a', ended: '', ...hooks })
  await unread.return!()
  expect(calls).toEqual([])
  const abandoned = bashRunEvents(bash, 'echo one; sleep 30', { id: 'b', ended: '', ...hooks })
  for (;;) {
    const r = await abandoned.next()
    if (!r.done && r.value.event.type === 'stdout') break
  }
  await abandoned.return!()
  await abandoned.return!()
  expect(calls).toEqual(['start', 'end'])
  // the shell serves the next run
  const next = bashRunEvents(bash, 'echo two', { id: 'c', ended: '' })
  const texts: string[] = []
  for await (const item of next) if (item.event.type === 'stdout') texts.push(item.event.text as string)
  expect(texts).toEqual(['two'])
})

test('an abandoned run whose shell is not scheduled past the grace keeps the shell', async () => {
  const bash = start()
  const run = bashRunEvents(bash, 'echo one; sleep 30', { id: 'b', ended: '' })
  for (;;) {
    const r = await run.next()
    if (!r.done && r.value.event.type === 'stdout') break
  }
  // Its children that still run: killed, the sleep stays a zombie until the stopped shell reaps it.
  const sleeping = () => (childrenOf(bash.pid) ?? []).filter(pid => readStat(pid)?.state !== 'Z').length
  await waitFor('the sleep', () => sleeping() > 0)
  // Stopped, the shell gets no CPU, as a starved one on a loaded machine: its end comes late.
  process.kill(bash.pid, 'SIGSTOP')
  const abandoned = run.return!()
  try {
    // The grace's kill of the sleep, then a whole grace more (1 s each): before, the shell was closed then.
    await waitFor('the kill of the sleep', () => sleeping() === 0)
    for (const until = performance.now() + 2000; bash.alive && performance.now() < until;) await Bun.sleep(50)
  } finally {
    process.kill(bash.pid, 'SIGCONT')
  }
  await abandoned
  expect(bash.alive).toBe(true)
  const texts: string[] = []
  for await (const item of bashRunEvents(bash, 'echo two', { id: 'c', ended: '' }))
    if (item.event.type === 'stdout') texts.push(item.event.text as string)
  expect(texts).toEqual(['two'])
}, 20_000)

test('an interrupt lands while the reader reads nothing: what it had no room for is dropped and counted', async () => {
  const bash = start()
  for await (const _ of bashRunEvents(bash, 'x=41', { id: 's', ended: '' })) {
  }
  // A flood that ignores SIGINT: it runs the whole grace, far past what is kept for the reader.
  const run = bashRunEvents(bash, "( trap '' INT; exec yes yyyyyyyyyyyyyyyy )", { id: 's', ended: '' })
  for (;;) {
    const r = run.ready() ?? (await run.next())
    if (r.done || r.value.event.type === 'stdout') break
  }
  await bash.interrupt()
  // Before, the run's end waited behind the unread output and the grace killed the shell.
  expect(bash.alive).toBe(true)
  const rest: { type: string; text?: string }[] = []
  for (;;) {
    const r = run.ready() ?? (await run.next())
    if (r.done) break
    if (!(r.value instanceof OutputBytes)) rest.push(r.value.event as { type: string; text?: string })
  }
  const notices = rest.filter(e => e.type === 'stderr')
  expect(notices.length).toBe(1)
  expect(notices[0]!.text).toMatch(
    /^\[execd: [1-9]\d* characters of output dropped while the run was stopped: the reader fell behind]$/,
  )
  expect(rest.at(-1)?.type).toBe('error')
  const texts: string[] = []
  for await (const item of bashRunEvents(bash, 'echo $((x + 1))', { id: 's', ended: '' }))
    if (item.event.type === 'stdout') texts.push(item.event.text as string)
  expect(texts).toEqual(['42'])
})
