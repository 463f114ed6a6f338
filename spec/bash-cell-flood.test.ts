/**
 * A bash cell's flood read whole over real HTTP: every byte arrives, the cell completes, and
 * execd stays up and bounded. An SSE stream alive past a second is looked at by the stall guard
 * (core/send-stall.ts) through TCP_INFO; with that call missing from the loaded libc symbols the
 * first look was a TypeError that ended the daemon (`ServerShutdown` 1.7 s into a 256 MiB cell).
 * Its bound is a command's: the cell's chunks are copied into its journal's ring and freed, as a
 * command's lines are (kept as they came, 512 MiB peaked at 134–136 MiB; 89 since).
 */
import { expect, test } from 'bun:test'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { readFlood } from './kit/flood-read'

const fx = daemonAlone()
const MiB = 1024 * 1024

test('a 512 MiB bash cell reaches its reader whole, and execd stays up and under 115 MiB', async () => {
  const made = await postJson(fx.d, '/code/context', { language: 'bash' })
  const { id } = (await made.json()) as { id: string }
  const flood = 512 * MiB
  const res = await postJson(fx.d, '/code', {
    code: `yes "$(printf '%01023d' 0)" | head -c ${flood}`,
    context: { id, language: 'bash' },
  })
  expect(res.status).toBe(200)
  const { wire, last, peak } = await readFlood(res, fx.d.proc.pid)
  expect(last).toStartWith('data: {"type":"execution_complete"')
  // Each 1 KiB line is its text on the wire (its newline escaped), framed in events of many lines.
  expect(wire).toBeGreaterThan(flood)
  expect((await fx.d.fetch('/ping')).status).toBe(200)
  // A session's run of the same flood peaks near 80 MiB; a cell's did at 134–136 (load 10).
  expect(peak).toBeLessThan(115)
}, 120_000)
