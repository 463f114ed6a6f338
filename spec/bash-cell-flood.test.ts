/**
 * A bash cell's flood read whole over real HTTP: every byte arrives, the cell completes, and
 * execd stays up and bounded. An SSE stream alive past a second is looked at by the stall guard
 * (core/send-stall.ts) through TCP_INFO; with that call missing from the loaded libc symbols the
 * first look was a TypeError that ended the daemon (`ServerShutdown` 1.7 s into a 256 MiB cell).
 * Its bound is a command's: the cell's chunks are copied into its journal's ring and freed, as a
 * command's lines are (kept as they came, 512 MiB peaked at 134–136 MiB; 89 since). A flood of
 * wide characters is framed from its bytes as well (core/output-chunks.ts), where each chunk
 * was decoded, merged and encoded again (128 MiB of them without a line feed: 137 MiB).
 */
import { expect, test } from 'bun:test'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { readFlood, stdoutTexts } from './kit/flood-read'

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

/** Checks that the stdout events' texts, joined, are `unit` over and over; counts the units. */
function repeatedText(unit: string): { onText: (text: string) => void; units: number; wrong: number } {
  let at = 0
  const seen = {
    units: 0,
    wrong: 0,
    onText: stdoutTexts(got => {
      for (let i = 0; i < got.length; i++) {
        if (got.charCodeAt(i) !== unit.charCodeAt(at)) seen.wrong++
        if (++at === unit.length) ((at = 0), seen.units++)
      }
    }),
  }
  return seen
}

test('a 128 MiB bash cell of wide characters and no line feed reaches its reader whole, execd under 115 MiB', async () => {
  const made = await postJson(fx.d, '/code/context', { language: 'bash' })
  const { id } = (await made.json()) as { id: string }
  // 9 bytes a unit, cut by the pipe's reads anywhere, inside characters too.
  const unit = 'é€😀'
  const units = Math.floor((128 * MiB) / 9)
  const res = await postJson(fx.d, '/code', {
    code: `yes '${unit.repeat(100)}' | tr -d '\\n' | head -c ${units * 9}`,
    context: { id, language: 'bash' },
  })
  const seen = repeatedText(unit)
  const { last, peak } = await readFlood(res, fx.d.proc.pid, seen.onText)
  expect(last).toStartWith('data: {"type":"execution_complete"')
  expect([seen.units, seen.wrong]).toEqual([units, 0])
  // Decoded chunk by chunk, 137 MiB (load 10); framed from their bytes, 85.
  expect(peak).toBeLessThan(115)
}, 120_000)
