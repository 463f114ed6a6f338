/**
 * A session run whose timeout lands after its code has ended, before its end marker: the run
 * ended by itself, and says so (its status; `execution_complete` for 0), not `signal: interrupt`.
 * The gap is made wide and sure by the code itself: a DEBUG trap runs before each simple command,
 * and sleeps before the end function's call (core/live-bash/frame.ts) only; the timeout's
 * SIGINT ends that sleep, then the INT trap finds no sourced code to return from. Code the
 * SIGINT does reach still ends with the interrupt's words. A bash cell interrupted (DELETE) in the
 * same gap likewise.
 */
import { expect, test } from 'bun:test'
import { postJson, readSse, waitFor, type SseFrame } from './harness'
import { pidsUnder } from './kit/own-pids'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, ofType, runCode } from './runtime-kit'

const fx = daemonAlone()
/** This daemon's processes: the same file run elsewhere at once has jobs of these names too. */
const pidsWith = (marker: string): number[] => pidsUnder(marker, fx.d.proc.pid)

const run = async (sid: string, command: string, timeout: number) => {
  const res = await postJson(fx.d, `/session/${sid}/run`, { command, timeout })
  expect(res.status).toBe(200)
  return readSse(res)
}
const texts = (frames: SseFrame[], type: string) => frames.filter(f => f.data.type === type).map(f => f.data.text)

// Before the end function's call only: the code's own last command sets its status.
const gap = (ms: number) => `trap '[[ $BASH_COMMAND == *__execd_end* ]] && { trap - DEBUG; sleep ${ms}; }' DEBUG`

test('a timeout that lands between the code and its end marker: the run ended by itself', async () => {
  const sid = (await (await postJson(fx.d, '/session', {})).json()).session_id as string
  const ok = await run(sid, `${gap(20)}; echo done`, 1000)
  // Old build: CommandExecError "-1", ["signal: interrupt (timeout after 1000 ms)"].
  expect(texts(ok, 'stdout')).toEqual(['done'])
  expect(ok.at(-1)?.data.type).toBe('execution_complete')
  const failed = await run(sid, `${gap(20)}; echo done; (exit 3)`, 1000)
  expect(failed.at(-1)?.data.error).toEqual({ ename: 'CommandExecError', evalue: '3', traceback: ['exit status 3'] })
  // The code itself interrupted: as before.
  const slow = await run(sid, 'sleep 20; echo never', 1000)
  expect(texts(slow, 'stdout')).toEqual([])
  expect(slow.at(-1)?.data.error).toEqual({
    ename: 'CommandExecError',
    evalue: '-1',
    traceback: ['signal: interrupt (timeout after 1000 ms)'],
  })
  expect(texts(await run(sid, 'echo alive', 0), 'stdout')).toEqual(['alive'])
}, 60_000)

test('a bash cell interrupted between its code and its end marker: the cell ended by itself', async () => {
  const id = await createContext(fx.d, 'bash')
  const cell = postJson(fx.d, '/code', { code: `${gap(21.43)}; echo done`, context: { id } })
  await waitFor('the gap to be reached', () => pidsWith('sleep 21.43').length > 0)
  expect((await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
  const events = (await readSse(await cell)).map(f => f.data)
  expect(ofType(events, 'stdout').map(e => e.text)).toEqual(['done\n'])
  // Old build: CommandExecError "130", ["signal: interrupt"].
  expect(ofType(events, 'error')).toEqual([])
  expect(events.at(-1)?.type).toBe('execution_complete')
  expect(ofType(await runCode(fx.d, 'echo alive', { id }), 'stdout').map(e => e.text)).toEqual(['alive\n'])
}, 60_000)
