/**
 * A session's (or bash context's) run may change its shell in ways that persist — tracing, aliases,
 * readonly names, DEBUG traps — and the line execd sends around each later run must still end it
 * with that run's own output and status (core/live-bash/frame.ts). What leaves the line unable to
 * end a run at all ends the run within seconds, saying why (core/live-bash/stall.ts).
 */
import { describe, expect, test } from 'bun:test'
import { postJson, readSse, type SseFrame } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, runCode, stdoutText, ofType } from './runtime-kit'

const fx = daemonAlone()

const create = async () => {
  const res = await postJson(fx.d, '/session', {})
  expect(res.status).toBe(200)
  return (await res.json()).session_id as string
}
// A run whose end is not found waits for this, then ends with a timeout error (the old build).
const run = async (sid: string, command: string) => {
  const res = await postJson(fx.d, `/session/${sid}/run`, { command, timeout: 8000 })
  expect(res.status).toBe(200)
  return readSse(res)
}
const texts = (frames: SseFrame[], type: string) => frames.filter(f => f.data.type === type).map(f => f.data.text)
/** The run's exit status as the wire says it: 0, or the `error` event's evalue. */
const status = (frames: SseFrame[]) => {
  const end = frames[frames.length - 1]?.data
  if (end?.type === 'execution_complete') return 0
  return end?.type === 'error' ? `${end.error.evalue} ${end.error.traceback.join('; ')}` : end?.type
}
const framing = /__execd_|builtin|execd-bash-|printf/

describe("a session's later runs after it changed its own shell", () => {
  test('set -x traces only the code of each later run, and set +x ends it', async () => {
    const sid = await create()
    await run(sid, 'set -x')
    const two = await run(sid, 'echo two; false')
    expect(texts(two, 'stdout')).toEqual(['two'])
    expect(status(two)).toBe('1 exit status 1')
    // Old build: `+ __execd_s=1`, `+ builtin printf %s ` here, and the line's marker and
    // trace handed to the next run's stderr.
    expect(texts(two, 'stderr').filter(t => framing.test(t))).toEqual([])
    expect(texts(two, 'stderr').join('\n')).toContain('echo two')
    // A syntax error on a traced run's first line does not stop the tracing, nor show execd's words.
    const broken = await run(sid, 'echo (')
    expect(texts(broken, 'stderr').filter(t => framing.test(t))).toEqual([])
    expect(texts(await run(sid, 'echo traced'), 'stderr')).toEqual(['++ echo traced'])
    const three = await run(sid, 'echo three; set +x')
    expect(texts(three, 'stdout')).toEqual(['three'])
    expect(texts(three, 'stderr').filter(t => framing.test(t) || !t.includes('+'))).toEqual([])
    const four = await run(sid, 'echo four')
    expect([texts(four, 'stdout'), texts(four, 'stderr'), status(four)]).toEqual([['four'], [], 0])
  }, 60_000)

  // Each made a later run hang until its timeout, print the line's own words, or report the
  // status of another command.
  for (const [name, setup] of [
    ['an alias named builtin', 'alias builtin=echo'],
    ['an alias named trap', "alias trap='echo trapped'"],
    ['a readonly variable of the old line', 'readonly __execd_s'],
    ['traces on stdout', 'BASH_XTRACEFD=1; set -x'],
    ['set -v', 'set -v'],
    ['a DEBUG trap echoing each command', 'trap \'echo "$BASH_COMMAND"\' DEBUG'],
    ['a function named builtin', 'builtin() { echo taken; }'],
    ['a function named builtin, in POSIX mode', 'builtin() { echo taken; }; set -o posix'],
    ['printf, builtin and source disabled', 'enable -n printf builtin source; enable() { echo taken; }'],
  ]) {
    test(`${name}: later runs report their own output and status`, async () => {
      const sid = await create()
      expect(status(await run(sid, setup!))).toBe(0)
      for (const word of ['two', 'three']) {
        const frames = await run(sid, `echo ${word}; (exit 3)`)
        expect(status(frames)).toBe('3 exit status 3')
        expect(texts(frames, 'stdout')).toContain(word)
        // Nothing of the run before this one.
        const all = frames.map(f => f.data.text ?? '').join('\n')
        expect(all).not.toContain(word === 'two' ? 'three' : 'echo two')
        expect(all).not.toMatch(/__execd_[0-9a-f]{24}__/)
        expect(all).not.toContain('trapped')
        expect(all).not.toContain('taken')
      }
    }, 60_000)
  }
})

describe('what the line does before each run leaves the shell as the run before left it', () => {
  test('shopts, set -o options, posix mode, functions and the INT trap', async () => {
    const sid = await create()
    const snap = 'shopt -p; set +o; declare -f; trap -p'
    for (const setup of [
      'shopt -u expand_aliases; shopt -s inherit_errexit sourcepath shift_verbose; set +o interactive-comments',
      'shopt -s expand_aliases; shopt -u inherit_errexit sourcepath; set -o interactive-comments; f() { :; }',
      'set -o posix; shopt -u expand_aliases',
      'set +o posix',
    ]) {
      await run(sid, setup)
      const before = texts(await run(sid, snap), 'stdout')
      expect(texts(await run(sid, snap), 'stdout')).toEqual(before)
    }
    // A function named trap does not keep an interrupt from stopping only the run.
    await run(sid, 'trap() { echo trapped; }; sleep 0.1; builtin trap - INT')
    const res = await postJson(fx.d, `/session/${sid}/run`, { command: 'sleep 20', timeout: 500 })
    // Old build: the shell itself died of the SIGINT (`the session has ended`).
    expect(status(await readSse(res))).toBe('-1 signal: interrupt (timeout after 500 ms)')
    expect(texts(await run(sid, 'echo alive'), 'stdout')).toEqual(['alive'])
  }, 60_000)
})

describe('a bash code context after set -x', () => {
  test('later cells trace only their own code and report their own status', async () => {
    const id = await createContext(fx.d, 'bash')
    await runCode(fx.d, 'set -x', { id })
    const events = await runCode(fx.d, 'echo two', { id })
    expect(stdoutText(events)).toBe('two\n')
    const stderr = ofType(events, 'stderr')
      .map(e => e.text)
      .join('')
    expect(stderr).toContain('echo two')
    expect(stderr).not.toMatch(framing)
    expect(ofType(events, 'error')).toEqual([])
  }, 60_000)
})

/** They waited for the run's timeout (the old build), and without one for ever. */
describe('runs that leave their shell unable to end a run', () => {
  const STALLED = "the run's code left the shell unable to end a run"
  const STALLING = [
    'echo before; set -n',
    'shopt -s extdebug; trap false DEBUG',
    'builtin() { :; }; readonly -f builtin',
    'enable -n enable printf',
    'readonly POSIXLY_CORRECT',
  ]
  for (const code of STALLING) {
    test(`\`${code}\` ends its run at once, saying why, and the session`, async () => {
      const sid = await create()
      const why = String(status(await run(sid, code)))
      expect(why).toContain(STALLED)
      expect(why).not.toContain('timeout')
      expect((await postJson(fx.d, `/session/${sid}/run`, { command: 'echo after' })).status).toBe(404)
    })
  }

  test('runs quiet for seconds, or reading their stdin, end as they should', async () => {
    const sid = await create()
    expect(status(await run(sid, 'readonly POSIXLY_CORRECT=1'))).toBe(0)
    // Quiet for longer than the first look: the shell waits for its child, not its input.
    expect(status(await run(sid, 'sleep 2.5; read -r x || echo eof'))).toBe(0)
    expect(status(await run(sid, 'echo still'))).toBe(0)
  })

  test('a bash code context says so too, and starts a fresh shell', async () => {
    const id = await createContext(fx.d, 'bash')
    const events = await runCode(fx.d, 'set -n', { id, language: 'bash' })
    const error = events.find(e => e.type === 'error') as { error?: { evalue?: string } } | undefined
    expect(error?.error?.evalue).toContain(STALLED)
    expect(stdoutText(await runCode(fx.d, 'echo fresh', { id, language: 'bash' }))).toBe('fresh\n')
  })
})
