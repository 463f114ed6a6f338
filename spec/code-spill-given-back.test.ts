/**
 * An ended execution's large value gives its room back after a while (--keep-large-values,
 * EXECD_KEEP_LARGE_VALUES_MS): kept until a new spill needed the room, 8 values of 50 MB held
 * 381 MiB of a tmpfs TMPDIR (the container's memory) for as long as an idle daemon kept their
 * executions, 15 minutes. Replayable at first, as before; after its time the file is closed and a
 * replay says events_dropped where the value was.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, readlinkSync } from 'node:fs'
import { postJson, readSse, waitFor } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'
import { pythonAvailable } from './python-env'
import { createContext, ofType, type WireEvent } from './runtime-kit'

const KEEP_MS = 3000
const fx = daemonWithDirAtLoad('spill-given-back', tmp => ({
  env: { TMPDIR: tmp, EXECD_KEEP_LARGE_VALUES_MS: String(KEEP_MS) },
}))

const VALUE = 3_000_000

/** execd's open spilled files (unnamed, O_TMPFILE, in its TMPDIR). */
function spills(): string[] {
  const fds = `/proc/${fx.d.proc.pid}/fd`
  return readdirSync(fds).flatMap(fd => {
    try {
      const target = readlinkSync(`${fds}/${fd}`)
      return target.startsWith(`${fx.tmp}/#`) && target.endsWith(' (deleted)') ? [target] : []
    } catch {
      return [] // closed meanwhile
    }
  })
}

async function replay(exec: string): Promise<WireEvent[]> {
  const res = await fx.d.fetch(`/code/executions/${exec}/events`, { headers: { 'Last-Event-ID': '0' } })
  expect(res.status).toBe(200)
  return (await readSse(res)).map(f => f.data)
}

describe.skipIf(pythonAvailable !== true)('an ended execution’s large value', () => {
  test('is replayable at first, then given back: its file closed, its replay says events_dropped', async () => {
    const id = await createContext(fx.d, 'python')
    const res = await postJson(fx.d, '/code', { code: `'x' * ${VALUE}`, context: { id } })
    const exec = res.headers.get('EXECD-EXECUTION-ID')!
    const events = (await readSse(res)).map(f => f.data)
    expect(ofType(events, 'result').map(r => r.results['text/plain'].length)).toEqual([VALUE + 2])
    expect(spills().length).toBe(1)
    // (its time counts from the execution's end: a replay at once comes well inside it)
    const first = await replay(exec)
    expect(ofType(first, 'result').map(r => r.results['text/plain'].length)).toEqual([VALUE + 2])
    // On the build before, the file stayed open until a new spill needed the room.
    await waitFor('the spilled value given back', () => spills().length === 0, 20_000)
    const after = await replay(exec)
    expect(ofType(after, 'status').map(e => e.text)).toEqual(['events_dropped'])
    expect(ofType(after, 'result')).toEqual([])
    expect(after.at(-1)!.type).toBe('execution_complete')
  }, 30_000)
})
