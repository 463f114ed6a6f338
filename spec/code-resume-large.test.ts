/**
 * A large value can be resumed: a python value of 3 MB (its JSON ~6 MB with its `text` alias,
 * spilled to TMPDIR by core/spilled-bytes.ts) stays in its execution's journal at the size of its
 * handle, so a client cut off in the middle of it and back with Last-Event-ID gets all of it, not
 * events_dropped. Past the spills' room (a 16 MiB tmpfs: a spill takes at most a quarter of what
 * is free), finished executions give theirs up, oldest first: every new value still arrives, the
 * newest is replayable, the oldest's replay says events_dropped, and execd's memory stays flat.
 * The second case needs root and mount(8); skipped loudly otherwise.
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { postJson, readSse, rssMiB, type Daemon } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'
import { pythonAvailable } from './python-env'
import { createContext, ofType, type WireEvent } from './runtime-kit'

const fx = daemonWithDirAtLoad('resume-large', () => (mounted ? { env: { TMPDIR: dir } } : null))
const dir = join(fx.tmp, 'spill')
const mounted = process.getuid?.() === 0 && fx.mounts.mount('-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir)
if (!mounted) console.warn('skipped: spec/code-resume-large.test.ts needs root and mount(8) (mount -t tmpfs failed)')

const VALUE = 3_000_000
const BIG = `'x' * ${VALUE}`

/** Runs `code`, reads its stream until `cutAt` bytes past where the result's frame starts, and leaves. */
async function cutInValue(d: Daemon, code: string, id: string, cutAt: number): Promise<{ exec: string; last: string }> {
  const res = await postJson(d, '/code', { code, context: { id } })
  expect(res.status).toBe(200)
  const exec = res.headers.get('EXECD-EXECUTION-ID')!
  const reader = res.body!.getReader()
  let text = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) throw new Error('the stream ended before the cut')
    text += Buffer.from(value).toString('latin1')
    const at = text.indexOf('"type":"result"')
    if (at >= 0 && text.length - at > cutAt) break
  }
  await reader.cancel()
  // the last whole frame's id: what a client resumes after
  const whole = text.slice(0, text.indexOf('"type":"result"')).split('\n\n').slice(0, -1)
  const ids = whole.flatMap(f => /^id: (\d+)$/m.exec(f)?.[1] ?? [])
  return { exec, last: ids.at(-1)! }
}

/** The replay of execution `exec` after event `last`. */
async function replay(d: Daemon, exec: string, last: string): Promise<WireEvent[]> {
  const res = await d.fetch(`/code/executions/${exec}/events`, { headers: { 'Last-Event-ID': last } })
  expect(res.status).toBe(200)
  return (await readSse(res)).map(f => f.data)
}

const dropped = (events: WireEvent[]) => ofType(events, 'status').filter(e => e.text === 'events_dropped')

describe.skipIf(!mounted || pythonAvailable !== true)('a large value can be resumed (python, 16 MiB TMPDIR)', () => {
  test('a 6 MB value cut mid-value and resumed with Last-Event-ID arrives whole', async () => {
    const id = await createContext(fx.d, 'python')
    const { exec, last } = await cutInValue(fx.d, `print('before', flush=True)\n${BIG}`, id, 1_000_000)
    const events = await replay(fx.d, exec, last)
    expect(dropped(events)).toEqual([])
    expect(ofType(events, 'result').map(r => r.results['text/plain'].length)).toEqual([VALUE + 2])
    expect(events.at(-1)!.type).toBe('execution_complete')
  })

  test('values past the spills’ room: each arrives, the newest stays replayable, the oldest gives way, memory flat', async () => {
    const id = await createContext(fx.d, 'python')
    const runs: string[] = []
    let rssAfter3 = 0
    for (let i = 0; i < 8; i++) {
      const res = await postJson(fx.d, '/code', { code: BIG, context: { id } })
      runs.push(res.headers.get('EXECD-EXECUTION-ID')!)
      const events = (await readSse(res)).map(f => f.data)
      expect([i, ofType(events, 'error').map(e => e.error.evalue)]).toEqual([i, []])
      expect(ofType(events, 'result').map(r => r.results['text/plain'].length)).toEqual([VALUE + 2])
      if (i === 2) rssAfter3 = rssMiB(fx.d.proc.pid)
    }
    const newest = await replay(fx.d, runs.at(-1)!, '0')
    expect(dropped(newest)).toEqual([])
    expect(ofType(newest, 'result').map(r => r.results['text/plain'].length)).toEqual([VALUE + 2])
    const oldest = await replay(fx.d, runs[0]!, '0')
    expect(dropped(oldest).length).toBe(1)
    expect(ofType(oldest, 'result')).toEqual([])
    expect(oldest.at(-1)!.type).toBe('execution_complete')
    // 5 more values of 3 MB (6 MB as JSON) after the third: held in memory, 30 MB more
    expect(rssMiB(fx.d.proc.pid) - rssAfter3).toBeLessThan(20)
  })
})
