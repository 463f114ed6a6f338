/**
 * What a session's run can reach of its shell beyond its own stdin, stdout and stderr. The shell
 * reads each run's line, with that run's marker, from its input; bash keeps that input on a
 * descriptor of its own while the code runs, and a background job of the run held it: it read
 * the next run's line in the shell's place (that run never ran, and ended with the stall's words)
 * and could print its marker. Now each run's line moves the shell to a new input once the code
 * has run (core/live-bash/command-stream.ts), so what a job took along is a stream nothing is
 * written to any more.
 */
import { expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, type SseFrame } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { grabEveryDescriptor } from './kit/grab-descriptors'

const fx = daemonWithDir('session-input')

const create = async () => {
  const res = await postJson(fx.d, '/session', {})
  expect(res.status).toBe(200)
  return (await res.json()).session_id as string
}
// The old build's stolen line: the run waits for the stall check (~1 s), not this.
const run = async (sid: string, command: string, timeout = 20_000) => {
  const res = await postJson(fx.d, `/session/${sid}/run`, { command, timeout })
  expect(res.status).toBe(200)
  return readSse(res)
}
const texts = (frames: SseFrame[], type: string) => frames.filter(f => f.data.type === type).map(f => f.data.text)
const last = (frames: SseFrame[]) => frames[frames.length - 1]?.data

for (const [name, setup] of [
  ['a session', ':'],
  ['a session that traces (set -x)', 'set -x'],
] as const) {
  test(`${name}: background jobs that read or write each descriptor of the shell take no later run`, async () => {
    const sid = await create()
    const dir = mkdtempSync(join(fx.tmp, 'jobs-'))
    expect(last(await run(sid, setup))?.type).toBe('execution_complete')
    const grabbed = await run(sid, grabEveryDescriptor(dir))
    expect(last(grabbed)?.type).toBe('execution_complete')
    expect(texts(grabbed, 'stdout')[0]).toMatch(/^grabbed [1-9]/)
    for (const word of ['two', 'three', 'four']) {
      const frames = await run(sid, `echo ${word}`)
      // Old build: the second or third of them never ran (its line read by a job), ending with
      // "the run's code left the shell unable to end a run".
      expect([texts(frames, 'stdout'), last(frames)?.type]).toEqual([[word], 'execution_complete'])
      expect(texts(frames, 'stdout').concat(texts(frames, 'stderr')).join('\n')).not.toContain('injected')
    }
    // Nothing execd sent reached a job: no run's line, no marker.
    for (const f of readdirSync(dir).filter(f => !f.startsWith('up-')))
      expect(readFileSync(join(dir, f), 'latin1')).not.toMatch(/__execd_|execd-bash-/)
    expect((await fx.d.fetch(`/session/${sid}`, { method: 'DELETE' })).status).toBe(200)
  }, 90_000)
}

test("the programs a tracing session's run starts get no descriptor but 0-2", async () => {
  const sid = await create()
  expect(last(await run(sid, 'set -x'))?.type).toBe('execution_complete')
  // ls's own directory is 3. Old build: 63, the run's stderr kept for the trace.
  const frames = await run(sid, 'ls /proc/self/fd')
  expect(texts(frames, 'stdout')).toEqual(['0', '1', '2', '3'])
  expect((await fx.d.fetch(`/session/${sid}`, { method: 'DELETE' })).status).toBe(200)
})

test("a run that reads the shell's input in the foreground waits on a stream nothing is written to", async () => {
  // The shell keeps the input its line came from on a descriptor of 10 or above while the code
  // runs; execd writes the next line to the FIFO that line named, which the shell moves to only
  // after the code: a foreground read of the old input can take no line, and ends with the run.
  const sid = await create()
  // Found in a run of its own, with no timeout: a readlink a descriptor, each a fork, took up to
  // 0.4 s of the timed run's second at load 10. bash saves each run's input on the lowest free
  // descriptor from 10, the same in every run; the timed runs check it is still a FIFO (no fork).
  const find = 'for f in /proc/$$/fd/*; do [[ $(readlink "$f") == *execd-bash-* ]] && fd=${f##*/}; done'
  expect(texts(await run(sid, `${find}; echo "fd $fd"`), 'stdout')[0]).toMatch(/^fd (1\d|[2-9]\d)$/)
  const still = '[[ -p /proc/$$/fd/$fd ]] && echo "fifo $fd"'
  const reads = await run(sid, `${still}; read -r -u "$fd" line; echo "read [$line]"`, 1000)
  expect(texts(reads, 'stdout')).toEqual([expect.stringMatching(/^fifo (1\d|[2-9]\d)$/)])
  expect(last(reads)?.error?.traceback).toEqual(['signal: interrupt (timeout after 1000 ms)'])
  const cats = await run(sid, `${still} >&2; cat <&"$fd"`, 1000)
  expect(texts(cats, 'stderr')).toEqual([expect.stringMatching(/^fifo /)])
  expect(texts(cats, 'stdout')).toEqual([])
  for (const word of ['two', 'three']) {
    const frames = await run(sid, `echo ${word}`)
    expect([texts(frames, 'stdout'), last(frames)?.type]).toEqual([[word], 'execution_complete'])
  }
  expect((await fx.d.fetch(`/session/${sid}`, { method: 'DELETE' })).status).toBe(200)
}, 60_000)
