/**
 * A session's run and a code cell read their floods as a command does (core/read-gather.ts:
 * after a MiB read back to back, a small read waits a millisecond before the next), through
 * their own readers: a live bash's (`/session`, bash contexts) and the raw pipes of a
 * javascript cell. What must not change with it: every line arrives, whole and in order, on its
 * stream, and what the run writes after the flood comes after it. The writer waits after each
 * 1 KiB line until execd has read it (TIOCOUTQ 0, at most 50 µs), as in
 * spec/command-read-gather.test.ts: read as it comes or gathered, the same stream.
 */
import { expect, test } from 'bun:test'
import { postJson, readSse, type SseFrame } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { trickleLine, trickleProgram } from './kit/trickle'

const fx = daemonAlone()

const LINES = 4 * 1024
const line = trickleLine
const trickle = trickleProgram(LINES)
const bash = `python3 -c "${trickle}"; echo after >&2; echo end`

/**
 * The stdout lines of a run's frames, in order, and its stderr after them. A session run sends
 * a line an event, without its newline (as commands do); a cell's events are its output as read.
 */
function expectFlood(frames: SseFrame[], eventPerLine = false): void {
  expect(frames.at(-1)?.data.type).toBe('execution_complete')
  const text = (type: string) =>
    frames
      .filter(f => f.data.type === type)
      .map(f => (eventPerLine ? `${f.data.text}\n` : (f.data.text as string)))
      .join('')
  const out = text('stdout').split('\n')
  expect(out.length).toBe(LINES + 2)
  for (let i = 0; i < LINES; i++) if (out[i] !== line(i)) throw new Error(`line ${i}: ${out[i]?.slice(0, 40)}…`)
  expect(out.slice(LINES)).toEqual(['end', ''])
  expect(text('stderr')).toBe('after\n')
}

test('a session run: the flood whole and in order, what follows it after', async () => {
  const made = await postJson(fx.d, '/session', {})
  const { session_id } = (await made.json()) as { session_id: string }
  try {
    for (let round = 0; round < 2; round++)
      expectFlood(await readSse(await postJson(fx.d, `/session/${session_id}/run`, { command: bash })), true)
  } finally {
    await fx.d.fetch(`/session/${session_id}`, { method: 'DELETE' })
  }
}, 120_000)

test('a bash cell: the same', async () => {
  const made = await postJson(fx.d, '/code/context', { language: 'bash' })
  const { id } = (await made.json()) as { id: string }
  try {
    expectFlood(await readSse(await postJson(fx.d, '/code', { code: bash, context: { id, language: 'bash' } })))
  } finally {
    await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
  }
}, 120_000)

test('a javascript cell writing to its raw stdout: the same', async () => {
  const made = await postJson(fx.d, '/code/context', { language: 'javascript' })
  if (made.status !== 200) return // no node here: the live bash cases above still run
  const { id } = (await made.json()) as { id: string }
  const code = [
    "const { execFileSync } = require('child_process')",
    `execFileSync('bash', ['-c', ${JSON.stringify(bash)}], { stdio: 'inherit' })`,
  ].join('\n')
  try {
    const frames = await readSse(await postJson(fx.d, '/code', { code, context: { id, language: 'javascript' } }))
    expectFlood(frames.filter(f => f.data.type !== 'execution_count' && f.data.type !== 'result'))
  } finally {
    await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
  }
}, 120_000)
