/**
 * Bash cells' floods one after another in one execd: each finished cell keeps its newest 1 MiB
 * of output for replays, as a finished command does, not its journal's 4 MiB — kept whole, each
 * flood finished added that to execd, and row 12b's third 1 GiB flood peaked ~8 MiB above its
 * first (101–110 MiB against the issue's 100).
 */
import { expect, test } from 'bun:test'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { readFlood } from './kit/flood-read'

const fx = daemonAlone()
const MiB = 1024 * 1024

test('four 256 MiB cells in a row each keep at most 1 MiB to replay, and execd stays under 115 MiB', async () => {
  const made = await postJson(fx.d, '/code/context', { language: 'bash' })
  const { id } = (await made.json()) as { id: string }
  const executions: string[] = []
  let peak = 0
  for (let i = 0; i < 4; i++) {
    const res = await postJson(fx.d, '/code', {
      code: `yes "$(printf '%01023d' ${i})" | head -c ${256 * MiB}`,
      context: { id, language: 'bash' },
    })
    expect(res.status).toBe(200)
    executions.push(res.headers.get('execd-execution-id')!)
    const flood = await readFlood(res, fx.d.proc.pid)
    expect(flood.last).toStartWith('data: {"type":"execution_complete"')
    expect(flood.wire).toBeGreaterThan(256 * MiB)
    peak = Math.max(peak, flood.peak)
  }
  for (const [i, execution] of executions.entries()) {
    const replay = await fx.d.fetch(`/code/executions/${execution}/events`)
    expect(replay.status).toBe(200)
    const text = await replay.text()
    // The gap said first, then the flood's last lines (each ends in its cell's digit) and its end;
    // a boolean each, not the text: a failure would print a megabyte.
    expect(text.includes('"text":"events_dropped"')).toBe(true)
    expect(text.includes(`0${i}\\n`)).toBe(true)
    expect(text.includes(`0${(i + 1) % 4}\\n`)).toBe(false)
    expect(text.includes('"type":"execution_complete"')).toBe(true)
    // Framed on the wire: 1 MiB of output, its ids and its frames (3.9 MB when the 4 MiB were kept).
    expect(text.length).toBeGreaterThan(0.5 * MiB)
    expect(text.length).toBeLessThan(1.1 * MiB)
  }
  // Each of the four alone peaks near 90 (a command's flood near 80).
  expect(peak).toBeLessThan(115)
}, 180_000)
