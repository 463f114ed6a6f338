/**
 * A stop's SIGINT lost by a bash cell's program: bash's handler, inherited by a child just forked,
 * caught it and the child's exec dropped it (1 stop in 60, as bash forks). The cell then lasted
 * the whole 1 s grace, whose SIGKILL ended the program (bash said `Killed` on its stderr, now and
 * then). Made sure here by a program that loses it on purpose (kit/lost-sigint.ts); the stop now
 * sends SIGINT again to such a process only. A program that catches SIGINT to clean up is never
 * sent a second (a blind second cut python's `except KeyboardInterrupt:`).
 */
import { expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pidsWith, postJson, readSse, waitFor } from './harness'
import { createContext, ofType, runCode, stdoutText, type WireEvent } from './runtime-kit'
import { daemonAlone } from './kit/daemon-dir'
import { losesSigint, python } from './kit/lost-sigint'

const fx = daemonAlone()

const texts = (events: WireEvent[], type: string) => ofType(events, type).map(e => e.text as string)
const unique = () => crypto.randomUUID().replace(/\D/g, '').slice(0, 6)

/** Runs `code` in a bash cell, interrupts it (DELETE /code) once `ready` exists; the cell's events. */
async function interrupted(code: (ready: string) => string): Promise<{ events: WireEvent[]; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lost-int-'))
  try {
    const ready = join(dir, 'ready')
    const id = await createContext(fx.d, 'bash')
    const cell = postJson(fx.d, '/code', { code: code(ready), context: { id } })
    await waitFor('the program to be ready', () => existsSync(ready))
    const t0 = performance.now()
    expect((await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
    const events = (await readSse(await cell)).map(f => f.data)
    const ms = Math.round(performance.now() - t0)
    expect(stdoutText(await runCode(fx.d, 'echo alive', { id }))).toBe('alive\n')
    return { events, ms }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('a SIGINT the program lost is sent again: it ends the program, not the grace’s SIGKILL', async () => {
  const nap = `300.${unique()}`
  const { events, ms } = await interrupted(ready => losesSigint(nap, ready))
  console.log(`lost SIGINT: the cell ended ${ms} ms after the interrupt`)
  // Old build: [] (the grace's SIGKILL, after 1 s, ended the parent with the sleep).
  expect(texts(events, 'stdout').join('')).toBe('sleep ended by SIGINT\n')
  expect(pidsWith(`sleep ${nap}`)).toEqual([])
}, 60_000)

test('a program that catches SIGINT to clean up gets one: its cleanup runs to its end', async () => {
  // The cleanup outlasts the wait before a lost SIGINT is looked for (150 ms), not the grace (1 s).
  const clean = [
    'import os, time',
    'try:',
    '    open(os.environ["READY"], "w").close()',
    '    time.sleep(300)',
    'except KeyboardInterrupt:',
    '    time.sleep(0.5)',
    '    print("cleaned", flush=True)',
  ].join('\n')
  const { events } = await interrupted(ready => `READY=${ready} ${python} -c '${clean}'`)
  expect(texts(events, 'stdout').join('')).toBe('cleaned\n')
  expect(texts(events, 'stderr').join('\n')).not.toContain('Traceback')
}, 60_000)
