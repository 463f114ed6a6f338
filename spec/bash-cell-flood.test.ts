/**
 * A bash cell's flood read whole over real HTTP: every byte arrives, the cell completes, and
 * execd stays up and bounded. An SSE stream alive past a second is looked at by the stall guard
 * (core/send-stall.ts) through TCP_INFO; with that call missing from the loaded libc symbols the
 * first look was a TypeError that ended the daemon (`ServerShutdown` 1.7 s into a 256 MiB cell).
 */
import { expect, test } from 'bun:test'
import { postJson, rssMiB } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone()
const MiB = 1024 * 1024

test('a 256 MiB bash cell reaches its reader whole, and execd stays up and under its bound', async () => {
  const made = await postJson(fx.d, '/code/context', { language: 'bash' })
  const { id } = (await made.json()) as { id: string }
  const flood = 256 * MiB
  const res = await postJson(fx.d, '/code', {
    code: `yes "$(printf '%01023d' 0)" | head -c ${flood}`,
    context: { id, language: 'bash' },
  })
  expect(res.status).toBe(200)
  const pid = fx.d.proc.pid
  let peak = rssMiB(pid)
  // Counted as it comes: the test's own memory holds one chunk and the stream's tail.
  let wire = 0
  let tail = ''
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    wire += value.length
    tail = (tail + decoder.decode(value, { stream: true })).slice(-4096)
    peak = Math.max(peak, rssMiB(pid))
  }
  // The last event, not the whole tail: a failure says what ended the stream.
  const last = tail.slice(tail.lastIndexOf('data: '))
  expect(last).toStartWith('data: {"type":"execution_complete"')
  // Each 1 KiB line is its text on the wire (its newline escaped), framed in events of many lines.
  expect(wire).toBeGreaterThan(flood)
  expect((await fx.d.fetch('/ping')).status).toBe(200)
  // Generous: a session's run of the same flood peaks near 75 MiB, a cell's at 165–230 today.
  expect(peak).toBeLessThan(256)
}, 120_000)
