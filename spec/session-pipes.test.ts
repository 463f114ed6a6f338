/**
 * A live shell's stdout and stderr are pipes (core/output-pipes.ts), as a command's are
 * (spec/command-pipes): a session's runs, a bash cell's and an isolated session's write into
 * pipes, not Bun's socketpair, which cost the writer half as much again. Its stdout pipe holds
 * 1 MiB while a run runs and gives that back after it, so that idle shells hold none of the
 * raised pipes a command's flood reads best through. The pipes are execd's to close: none is
 * left open once the shell is gone, however it went.
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync, readdirSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { commandFrames, lastEvent, texts } from './command-stream'
import { postJson, readSse, waitFor, type SseFrame } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { PIPE_SIZES_COMMAND } from './kit/pipe-raise'

const fx = daemonWithDir('session-pipes')

/** execd's open pipes, by what they point at. */
function pipes(pid: number): string[] {
  const seen: string[] = []
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const to = readlinkSync(`/proc/${pid}/fd/${fd}`)
      if (to.startsWith('pipe:')) seen.push(to)
    } catch {} // closed while listed
  }
  return seen.sort()
}

const session = async (): Promise<string> => {
  const res = await postJson(fx.d, '/session', {})
  expect(res.status).toBe(200)
  return ((await res.json()) as { session_id: string }).session_id
}
const run = async (sid: string, command: string, timeout?: number) =>
  readSse(await postJson(fx.d, `/session/${sid}/run`, { command, timeout }))
const remove = (path: string) => fx.d.fetch(path, { method: 'DELETE' })
/** A stream's text: a session's run sends a line an event, a cell its output as read. */
const of = (frames: SseFrame[], type: string, eventPerLine = true) =>
  frames
    .filter(f => f.data.type === type)
    .map(f => (eventPerLine ? `${f.data.text}\n` : String(f.data.text)))
    .join('')
    .trim()

/** Its fd 1 and 2, then their sizes (F_GETPIPE_SZ, 1032): what a run writes into. */
const LOOK =
  'readlink /proc/self/fd/1; readlink /proc/self/fd/2 >&2; ' +
  `python3 -c 'import fcntl; print(fcntl.fcntl(1, 1032), fcntl.fcntl(2, 1032))' || true`

function expectPipes(out: string, err: string): void {
  const [fd1, sizes] = out.split('\n')
  expect(fd1).toMatch(/^pipe:\[\d+\]$/)
  expect(err).toMatch(/^pipe:\[\d+\]$/)
  expect(err).not.toBe(fd1)
  expect(sizes).toBe('1048576 65536')
}

describe('a live shell writes into pipes', () => {
  test("a session's run, a bash cell: pipes, stdout raised to 1 MiB while it runs", async () => {
    const sid = await session()
    const frames = await run(sid, LOOK)
    expect(lastEvent(frames)?.type).toBe('execution_complete')
    expectPipes(of(frames, 'stdout'), of(frames, 'stderr'))
    expect((await remove(`/session/${sid}`)).status).toBe(200)

    const made = await postJson(fx.d, '/code/context', { language: 'bash' })
    expect(made.status).toBe(200)
    const ctx = ((await made.json()) as { id: string }).id
    const cell = await readSse(await postJson(fx.d, '/code', { code: LOOK, context: { id: ctx, language: 'bash' } }))
    expect(lastEvent(cell)?.type).toBe('execution_complete')
    expectPipes(of(cell, 'stdout', false), of(cell, 'stderr', false))
    expect((await remove(`/code/contexts/${ctx}`)).status).toBe(200)
  }, 60_000)

  test.skipIf(!Bun.which('bwrap'))(
    "an isolated session's run: the same pipes, through bubblewrap",
    async () => {
      const ws = join(fx.tmp, 'ws')
      mkdirSync(ws, { recursive: true })
      const made = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: ws } })
      expect(made.status).toBe(201)
      const id = ((await made.json()) as { session_id: string }).session_id
      try {
        const frames = await readSse(await postJson(fx.d, `/v1/isolated/session/${id}/run`, { code: LOOK }))
        expect(lastEvent(frames)?.type).toBe('execution_complete')
        expectPipes(of(frames, 'stdout'), of(frames, 'stderr'))
      } finally {
        await remove(`/v1/isolated/session/${id}`)
      }
    },
    60_000,
  )

  test('idle sessions hold none of the raised pipes: a command after 20 of them still gets 1 MiB', async () => {
    // 16 are raised at once (core/output-pipes.ts RAISED_MAX); a shell that kept its raised
    // pipe between runs would leave a command the 64 KiB one, slower than the socketpair. A
    // command's is raised once it carried 64 KiB.
    const sids = await Promise.all(Array.from({ length: 20 }, () => session()))
    for (const sid of sids) expect(lastEvent(await run(sid, 'echo ready'))?.type).toBe('execution_complete')
    const frames = await commandFrames(fx.d, { command: PIPE_SIZES_COMMAND })
    expect(texts(frames, 'stderr')).toEqual(['65536 1048576 65536'])
    await Promise.all(sids.map(sid => remove(`/session/${sid}`)))
  }, 120_000)

  test('no pipe is left open in execd after shells that are deleted, exit, are killed or leave a job', async () => {
    const pid = fx.d.proc.pid
    // One first: whatever execd opens once (its spawn helpers) is open before the count, and
    // this shell's own pipes closed.
    const warm = await session()
    const own = await run(warm, 'readlink /proc/self/fd/1; readlink /proc/self/fd/2')
    const its = of(own, 'stdout').split('\n')
    expect(its).toHaveLength(2)
    await remove(`/session/${warm}`)
    await waitFor("the warm-up shell's pipes closed", () => !pipes(pid).some(p => its.includes(p)))
    const before = pipes(pid)

    const [flood, stopped, left, exits] = await Promise.all([session(), session(), session(), session()])
    const floods = await run(flood, 'head -c 3000000 /dev/zero | tr "\\0" a; echo; echo err >&2')
    expect(lastEvent(floods)?.type).toBe('execution_complete')
    expect(floods.filter(f => f.data.type === 'stdout').reduce((n, f) => n + String(f.data.text).length, 0)).toBe(
      3_000_000,
    )
    // Stopped by its timeout with its pipe full.
    expect(lastEvent(await run(stopped, 'yes', 300))?.type).toBe('error')
    // The shell exits and a job it left writes on (read no more once the run has ended), until
    // the DELETE ends it: execd closes its ends then.
    expect(lastEvent(await run(left, 'yes & exit 0'))?.type).toBe('error')
    expect(lastEvent(await run(exits, 'exit 3'))?.type).toBe('error')
    for (const sid of [flood, stopped, left, exits]) await remove(`/session/${sid}`)

    const made = await postJson(fx.d, '/code/context', { language: 'bash' })
    const ctx = ((await made.json()) as { id: string }).id
    await readSse(await postJson(fx.d, '/code', { code: 'echo cell', context: { id: ctx, language: 'bash' } }))
    await remove(`/code/contexts/${ctx}`)

    // A shell's pipes close as its readers end, a turn or two after its answer.
    await waitFor('execd to close every shell pipe', () => pipes(pid).join() === before.join())
    expect(pipes(pid)).toEqual(before)
  }, 120_000)
})
