/**
 * What a hostile or careless client found (the attacker's pass): each test fails on the
 * executable before its fix. No timing: a run that must end is read to its end, memory is
 * read from /proc, processes from the process list.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, readSse, waitFor, rssMiB } from './harness'
import { pidsUnder } from './kit/own-pids'
import { daemonAlone } from './kit/daemon-dir'
import { PtyClient } from './pty-client'
import { spawnSync } from 'node:child_process'

const fx = daemonAlone()
/** This daemon's processes: the same file run elsewhere at once has jobs of these names too. */
const pidsWith = (marker: string): number[] => pidsUnder(marker, fx.d.proc.pid)

/** The daemon's resident memory, in MiB. */
describe('a session whose bash exits while a job it started keeps the pipes open', () => {
  // The job inherits bash's stdout and stderr. The run waited for a 50 ms pause in its output
  // before it ended, holding everything in memory meanwhile: behind a `yes`, the run never
  // ended, execd grew by ~60 MiB/s (3.5 GiB within a minute, its client long gone) and then
  // stopped answering at all, DELETE of the session included.
  test('`yes & exit`: the run ends, saying the session ended, with execd memory flat', async () => {
    const sid = (await (await postJson(fx.d, '/session', {})).json()).session_id as string
    const before = rssMiB(fx.d.proc.pid)
    const res = await postJson(fx.d, `/session/${sid}/run`, { command: '(exec -a adversary-exit-flood yes) & exit 0' })
    expect(res.status).toBe(200)
    const frames = await readSse(res)
    const last = frames[frames.length - 1]!.data
    expect(last.type).toBe('error')
    expect(last.error.traceback).toContain('the session has ended: its bash exited; create a new session')
    // What the job wrote after the shell left is bounded (1 MiB of "y" lines), not all of it.
    const ys = frames.filter(f => f.data.type === 'stdout').length
    expect(ys).toBeLessThan(1024 * 1024)
    expect(rssMiB(fx.d.proc.pid) - before).toBeLessThan(256)
    // The job is still the session's: it runs until the session is deleted, then it is gone.
    expect(pidsWith('adversary-exit-flood').length).toBe(1)
    expect((await postJson(fx.d, `/session/${sid}/run`, { command: 'echo hi' })).status).toBe(404)
    expect((await fx.d.fetch(`/session/${sid}`, { method: 'DELETE' })).status).toBe(200)
    await waitFor('the flood to end', () => pidsWith('adversary-exit-flood').length === 0)
  }, 30_000)
})

describe.skipIf(!Bun.which('bwrap'))(
  'the patch of an overlay session over a workspace holding a FIFO or a link',
  () => {
    // The patch read each changed file's old bytes from the real workspace with a synchronous
    // readFileSync: a FIFO there (replaced by a file in the overlay) held the event loop until
    // something wrote to the FIFO — every request, /ping and SIGTERM included, waited forever;
    // a link to /dev/zero would have read until memory ran out.
    test('diff?patch=true answers, the FIFO and the link counted as binary', async () => {
      const ws = mkdtempSync(join(tmpdir(), 'execd-spec-adversary-'))
      try {
        expect(spawnSync('mkfifo', [join(ws, 'p')]).status).toBe(0)
        symlinkSync('/dev/zero', join(ws, 'z'))
        writeFileSync(join(ws, 't.txt'), 'old\n')
        const created = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: ws, mode: 'overlay' } })
        expect(created.status).toBe(201)
        const sid = (await created.json()).session_id as string
        try {
          const run = await postJson(fx.d, `/v1/isolated/session/${sid}/run`, {
            code: 'rm p z && echo new > p && echo new > z && echo new > t.txt',
          })
          expect((await readSse(run)).at(-1)!.data.type).toBe('execution_complete')
          const res = await fx.d.fetch(`/v1/isolated/session/${sid}/diff?patch=true`)
          expect(res.status).toBe(200)
          const diff = await res.json()
          expect(diff.changes.map((c: { path: string }) => c.path)).toEqual(['p', 't.txt', 'z'].map(n => join(ws, n)))
          expect(diff.patch).toContain('Binary files a/p and b/p differ')
          expect(diff.patch).toContain('Binary files a/z and b/z differ')
          expect(diff.patch).toContain('-old\n+new')
        } finally {
          await fx.d.fetch(`/v1/isolated/session/${sid}`, { method: 'DELETE' })
        }
      } finally {
        rmSync(ws, { recursive: true, force: true })
      }
    }, 30_000)
  },
)

describe.skipIf(!Bun.which('bwrap'))('the diff of an overlay session that wrote many files', () => {
  // The walk of the upper layer was synchronous: the diff of 100 000 new files held the event
  // loop for 3.9 s (an unchanged 1 GiB copy-up, compared byte for byte, 0.8 s). Now every file
  // call is awaited: /ping is answered, again and again, while the diff is still being made.
  test('GET diff: /ping answers while the walk runs', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'execd-spec-adversary-'))
    try {
      const created = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: ws, mode: 'overlay' } })
      const sid = (await created.json()).session_id as string
      try {
        // Past the cap by a little: the walk stops at 10 001 changes, so more files only made the
        // run longer (60 000: 2 of 4 runs past the test's 60 s at 15 % of a CPU; 12 000: 44–50 s).
        const run = await postJson(fx.d, `/v1/isolated/session/${sid}/run`, {
          code: 'mkdir many && cd many && seq 1 12000 | xargs touch && cd ..',
        })
        expect((await readSse(run)).at(-1)!.data.type).toBe('execution_complete')
        let done = false
        const diff = fx.d.fetch(`/v1/isolated/session/${sid}/diff`).then(async res => {
          done = true
          return res
        })
        // Held behind a synchronous walk, at most the one /ping sent before it started.
        let answered = 0
        while (!done) {
          expect((await fx.d.fetch('/ping')).status).toBe(200)
          if (!done) answered++
        }
        const res = await diff
        expect(res.status).toBe(200)
        const body = await res.json()
        expect(body.truncated).toBe(true)
        expect(body.changes.length).toBe(10_000)
        expect(answered).toBeGreaterThanOrEqual(3)
      } finally {
        await fx.d.fetch(`/v1/isolated/session/${sid}`, { method: 'DELETE' })
      }
    } finally {
      rmSync(ws, { recursive: true, force: true })
    }
  }, 60_000)
})

describe('a sql result of one huge value', () => {
  // The row limit bounded rows, not bytes: `SELECT printf('%.*c', 300000000, 'x')` was turned
  // into a result event on the event loop — no /ping answered for minutes, execd's memory past
  // 5 GiB. Now one result carries at most 4 Mi characters of values; a first row too big on
  // its own comes cut, and the result says truncated.
  test('SELECT of a 20 MB string: the result is cut to 4 Mi characters and says truncated', async () => {
    const res = await postJson(fx.d, '/code', {
      code: "SELECT printf('%.*c', 20000000, 'x') AS big, 7 AS n",
      context: { language: 'sql' },
    })
    expect(res.status).toBe(200)
    const frames = await readSse(res)
    const result = frames.find(f => f.data.type === 'result')!.data.results
    const json = result['application/json']
    expect(json.truncated).toBe(true)
    expect(json.rows.length).toBe(1)
    expect(json.rows[0][0]).toBe('x'.repeat(json.rows[0][0].length))
    expect(json.rows[0][0].length).toBeLessThanOrEqual(4 * 1024 * 1024)
    expect(json.rows[0][1]).toBe(7)
    expect(frames.at(-1)!.data.type).toBe('execution_complete')
  }, 60_000)
})

describe('a cell that writes a long line to its interpreter channel (fd 3)', () => {
  // The channel's reader appended each chunk to one string and searched it all again for a
  // newline: a 256 MiB line was quadratic (minutes of CPU) and all of it stayed in memory. The
  // fd is open to the cell's own code. Now each chunk is searched once and a line over 64 Mi
  // characters is dropped up to its newline; the cell goes on.
  // 512 MiB, and a bound of 320: the line's 64 Mi characters kept, the chunks after it not yet
  // collected, grew execd 130-165 MiB here and 219 in a CI run (256 MiB against a bound of 192
  // failed there), the same for 256 as for 512 MiB; a line kept whole is all 512 of it.
  test('python: 512 MiB without a newline, then one: the cell completes, execd memory bounded', async () => {
    const before = rssMiB(fx.d.proc.pid)
    const code = [
      'import os',
      'def w(b):',
      '    v = memoryview(b)',
      '    while v:',
      '        v = v[os.write(3, v):]',
      "chunk = b'x' * (1 << 20)",
      'for _ in range(512):',
      '    w(chunk)',
      "w(b'\\n')",
      "print('ok')",
    ].join('\n')
    const res = await postJson(fx.d, '/code', { code, context: { language: 'python' } })
    expect(res.status).toBe(200)
    const frames = await readSse(res)
    expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['ok\n'])
    expect(frames.at(-1)!.data.type).toBe('execution_complete')
    expect(rssMiB(fx.d.proc.pid) - before).toBeLessThan(320)
  }, 60_000)
})

describe('a terminal whose shell started a process outside its session (setsid)', () => {
  // DELETE /pty hung up the terminal's session: SIGHUP/SIGTERM/SIGKILL to the jobs found by
  // session id. `setsid -f` (a daemon's double fork) leaves that session, and the process ran
  // on after the terminal was deleted, until execd itself stopped.
  test('DELETE /pty ends it too', async () => {
    const res = await postJson(fx.d, '/pty', {
      // The name is put together so that only the escaped process carries it in its argv.
      command:
        'N=adversary-pty-; N=${N}setsid setsid -f nohup bash -c \'exec -a "$N" sleep 1000\' >/dev/null 2>&1; exec sleep 1000',
    })
    expect(res.status).toBe(201)
    const id = (await res.json()).session_id as string
    const client = await PtyClient.connect(fx.d, id)
    try {
      await waitFor('the setsid process to start', () => pidsWith('adversary-pty-setsid').length === 1)
    } finally {
      client.ws.close()
    }
    expect((await fx.d.fetch(`/pty/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(pidsWith('adversary-pty-setsid')).toEqual([])
  }, 30_000)
})

describe('a terminal whose program does not read its input', () => {
  // Bun's terminal takes every write and keeps what the terminal cannot take: stdin sent to a
  // program that never reads it stayed in execd's memory without a bound (400 MiB sent to a
  // `sleep`: execd from 56 to 551 MiB). Now, as in pipe mode, more than 64 MiB not yet taken
  // by the terminal ends the connection with STDIN_WRITE_FAILED.
  test('128 MiB of stdin to `sleep`: the socket is closed with STDIN_WRITE_FAILED, execd memory bounded', async () => {
    const res = await postJson(fx.d, '/pty', { command: 'exec sleep 1000' })
    const id = (await res.json()).session_id as string
    const before = rssMiB(fx.d.proc.pid)
    const client = await PtyClient.connect(fx.d, id)
    try {
      await client.until('connected', () => client.json('connected').length === 1)
      const frame = new Uint8Array(1 << 20).fill(97)
      frame[0] = 0x00
      for (let i = 0; i < 128 && !client.closed; i++) client.ws.send(frame)
      await client.until('the socket to close', () => client.closed !== null, 60_000)
      expect(client.closed!.code).toBe(1011)
      expect(client.json('error').map(e => e.code)).toEqual(['STDIN_WRITE_FAILED'])
      expect(rssMiB(fx.d.proc.pid) - before).toBeLessThan(112)
    } finally {
      client.close()
      await fx.d.fetch(`/pty/${id}`, { method: 'DELETE' })
    }
  }, 90_000)
})
