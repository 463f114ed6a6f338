/**
 * A flood that reaches execd in small pieces is read in fewer, larger ones once it is a flood
 * (core/read-gather.ts: after a MiB read back to back, a small read waits a millisecond before
 * the next). What must not change with it: every line arrives, whole and in order, and the log
 * has every byte. The writer here waits after each 1 KiB line until execd has read it (the
 * pipe's unread bytes, FIONREAD, are 0), at most 50 µs: a reader that reads whatever is there
 * gets every line on its own, one that waits finds many — either way the same stream.
 *
 * How many reads the pauses save depends on the machine's load, so it is not asserted here: on
 * this shared 2-core machine (load 6-7) this flood took 2,660-11,389 log writes (one per read)
 * on the build before and 4,198-9,669 on this one; bench/flood-cpu.ts measures the saving.
 */
import { expect, test } from 'bun:test'
import { postJson, readSse } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { trickleLine, trickleProgram } from './kit/trickle'

const fx = daemonAlone()

const LINES = 12 * 1024
const line = trickleLine
const trickle = trickleProgram(LINES)

test('a flood written line by line arrives whole and in order, and so does its log', async () => {
  const res = await postJson(fx.d, '/command', { command: `exec python3 -c "${trickle}"` })
  expect(res.status).toBe(200)
  const frames = await readSse(res)
  expect(frames.at(-1)?.data.type).toBe('execution_complete')
  const id = frames[0]!.data.text as string
  const lines = frames.filter(f => f.data.type === 'stdout').map(f => f.data.text as string)
  expect(lines.length).toBe(LINES)
  for (let i = 0; i < lines.length; i++)
    if (lines[i] !== line(i)) throw new Error(`line ${i}: ${lines[i]?.slice(0, 40)}…`)
  const log = await (await fx.d.fetch(`/command/${id}/logs`)).text()
  expect(log.length).toBe(LINES * 1024)
  expect(log === Array.from({ length: LINES }, (_, i) => `${line(i)}\n`).join('')).toBe(true)
}, 60_000)
