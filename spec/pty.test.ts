/**
 * The PTY section through the executable: REST + the WebSocket framing of the reference
 * (binary 0x00-0x03, JSON control frames ending in "\n"), one client at a time, takeover,
 * signals to the foreground job, pipe mode, and process-group cleanup.
 */
import { describe, expect, test } from 'bun:test'
import { postJson, startDaemon, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { pidsUnder, stillLive } from './kit/own-pids'
import { PtyClient, handshake } from './pty-client'
import { UPGRADE_HEADERS } from './kit/upgrade-headers'

const fx = daemonAlone()

async function createSession(body: Record<string, string> = {}): Promise<string> {
  const res = await postJson(fx.d, '/pty', body)
  expect(res.status).toBe(201)
  return (await res.json()).session_id
}

/**
 * The daemon's live descendants whose command line contains `marker` (unique sleep durations mark
 * test processes): not the machine's, where the same test run elsewhere at once has the same.
 */
const pidsWith = (marker: string): number[] => pidsUnder(marker, fx.d.proc.pid)

describe('pty over WebSocket', () => {
  test('connect sends the connected frame, stdin reaches the shell, output comes back as 0x01 frames', async () => {
    const id = await createSession()
    const c = await PtyClient.connect(fx.d, id)
    await c.until('connected', () => c.json('connected').length > 0)
    const first = c.frames[0]
    expect(first?.kind === 'json' && first?.raw).toBe(`{"type":"connected","session_id":"${id}","mode":"pty"}\n`)
    c.stdin('echo hi-$((6*7))\n')
    await c.until('hi', () => c.stdout.includes('hi-42'))
    const status = await (await fx.d.fetch(`/pty/${id}`)).json()
    expect(status.running).toBe(true)
    expect(status.output_offset).toBeGreaterThan(0)
    c.close()
  })

  test('resize, then stty size prints the new size; TERM is set', async () => {
    const c = await PtyClient.connect(fx.d, await createSession())
    c.send({ type: 'resize', cols: 120, rows: 40 })
    c.send({ type: 'stdin', data: 'stty size; echo "term=$TERM"\n' })
    await c.until('stty size', () => c.stdout.includes('40 120') && c.stdout.includes('term=xterm-256color'))
    c.close()
  })

  test('ping gets pong; an unknown frame type gets INVALID_FRAME', async () => {
    const c = await PtyClient.connect(fx.d, await createSession())
    c.send({ type: 'ping' })
    c.send({ type: 'bogus' })
    await c.until('answers', () => c.json('pong').length > 0 && c.json('error').length > 0)
    const raws = c.frames.flatMap(f => (f.kind === 'json' ? [f.raw] : []))
    expect(raws).toContain('{"type":"pong"}\n')
    expect(raws).toContain('{"type":"error","error":"unknown frame type \\"bogus\\"","code":"INVALID_FRAME"}\n')
    c.close()
  })

  test('exit 42 sends the exit frame and closes 1000; a reconnect replays from since with its offset', async () => {
    const id = await createSession()
    const c = await PtyClient.connect(fx.d, id)
    c.stdin('echo marker-$((1+2)); exit 42\n')
    await c.until('close', () => c.closed !== null)
    expect(c.json('exit')).toEqual([{ type: 'exit', exit_code: 42 }])
    expect(c.closed).toEqual({ code: 1000, reason: 'process exited' })
    expect((await (await fx.d.fetch(`/pty/${id}`)).json()).running).toBe(false)

    const again = await PtyClient.connect(fx.d, id, 'since=0')
    await again.until('close', () => again.closed !== null)
    const [replay, connected] = again.frames
    expect(replay?.kind).toBe('replay')
    if (replay?.kind !== 'replay') return
    expect(replay?.offset).toBe(0)
    expect(replay?.text).toContain('marker-3')
    expect(replay?.text).toBe(c.stdout)
    expect(connected?.kind === 'json' && connected?.value.type).toBe('connected')
    expect(again.json('exit')).toEqual([{ type: 'exit', exit_code: 42 }])

    const tail = await PtyClient.connect(fx.d, id, `since=${c.stdout.length - 4}`)
    await tail.until('close', () => tail.closed !== null)
    const part = tail.frames[0]
    expect(part?.kind === 'replay' && part?.offset).toBe(c.stdout.length - 4)
  })

  test('a second client gets 409 ALREADY_CONNECTED before the upgrade; unknown sessions 404', async () => {
    const id = await createSession()
    const c = await PtyClient.connect(fx.d, id)
    const res = await handshake(fx.d, `/pty/${id}/ws`)
    expect(res.status).toBe(409)
    expect(await res.json()).toEqual({
      code: 'ALREADY_CONNECTED',
      message: `another client is already connected to pty session ${id}`,
    })
    const missing = await handshake(fx.d, '/pty/no-such-session/ws')
    expect(missing.status).toBe(404)
    expect((await missing.json()).code).toBe('CONTEXT_NOT_FOUND')
    c.close()
  })

  test('takeover=1 evicts the holder with close 4001 TAKEN_OVER and the new client drives the shell', async () => {
    const id = await createSession()
    const old = await PtyClient.connect(fx.d, id)
    old.stdin('echo one\n')
    await old.until('one', () => old.stdout.includes('one'))
    const fresh = await PtyClient.connect(fx.d, id, 'takeover=1')
    await old.until('eviction', () => old.closed !== null)
    expect(old.closed).toEqual({ code: 4001, reason: 'TAKEN_OVER' })
    fresh.stdin('echo two-$((1+1))\n')
    await fresh.until('two', () => fresh.stdout.includes('two-2'))
    expect(fresh.frames[0]?.kind).toBe('replay') // what the old client saw is replayed first
    fresh.close()
  })

  test('a SIGINT signal frame stops the foreground job and the shell keeps running', async () => {
    const c = await PtyClient.connect(fx.d, await createSession())
    c.stdin('sleep 100.125\n')
    await waitFor('sleep to start', () => pidsWith('100.125').length > 0)
    c.send({ type: 'signal', signal: 'SIGINT' })
    await waitFor('sleep to stop', () => pidsWith('100.125').length === 0)
    c.stdin('echo still-$((2*21))\n')
    await c.until('the shell', () => c.stdout.includes('still-42'))
    expect(c.closed).toBeNull()
    c.close()
  })

  test('pty=0 runs on pipes: stderr arrives as 0x02 frames, separate from stdout', async () => {
    const c = await PtyClient.connect(
      fx.d,
      await createSession({ command: 'echo out-line; echo err-line >&2' }),
      'pty=0',
    )
    await c.until('exit', () => c.json('exit').length > 0)
    expect(c.json('connected')[0].mode).toBe('pipe')
    expect(c.stdout).toBe('out-line\n')
    expect(c.stderr).toBe('err-line\n')
    expect(c.json('exit')[0].exit_code).toBe(0)
  })

  test('pty=0: stdin sent just after a signal killed the shell ends with its exit frame, not a 1011', async () => {
    // The write meets a closed pipe before the exit is reaped; the client must still learn the exit.
    for (let round = 0; round < 5; round++) {
      const c = await PtyClient.connect(fx.d, await createSession(), 'pty=0')
      c.send({ type: 'signal', signal: 'SIGKILL' })
      for (let i = 0; i < 20; i++) c.stdin('true\n')
      await c.until('close', () => c.closed !== null)
      expect(c.closed?.code).toBe(1000)
      expect(c.json('exit')).toHaveLength(1)
    }
  })

  test('delete kills every process of the session, background jobs included, and ends the socket', async () => {
    const id = await createSession()
    const c = await PtyClient.connect(fx.d, id)
    c.stdin('sleep 300.375 & sleep 300.625\n')
    await waitFor('jobs', () => pidsWith('300.375').length > 0 && pidsWith('300.625').length > 0)
    expect((await fx.d.fetch(`/pty/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(pidsWith('300.375')).toEqual([])
    expect(pidsWith('300.625')).toEqual([])
    await c.until('close', () => c.closed !== null)
    expect(c.json('exit')).toHaveLength(1)
    expect((await fx.d.fetch(`/pty/${id}`)).status).toBe(404)
  })

  test('output comes in frames of at most 32 KiB; the replay keeps the last 1 MiB at its true offset', async () => {
    const total = 3 * 1024 * 1024
    const id = await createSession({ command: `head -c ${total} /dev/zero | tr '\\0' a` })
    const c = await PtyClient.connect(fx.d, id, 'pty=0')
    await c.until('exit', () => c.json('exit').length > 0)
    const sizes = c.frames.flatMap(f => (f.kind === 'stdout' ? [f.text.length] : []))
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(total)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(32 * 1024)
    expect((await (await fx.d.fetch(`/pty/${id}`)).json()).output_offset).toBe(total)
    const again = await PtyClient.connect(fx.d, id, 'since=0')
    await again.until('close', () => again.closed !== null)
    const replay = again.frames[0]
    expect(replay?.kind).toBe('replay')
    if (replay?.kind !== 'replay') return
    expect(replay?.offset).toBe(total - 1024 * 1024)
    expect(replay?.text.length).toBe(1024 * 1024)
  })

  test('the upgrade needs the access token like every route', async () => {
    const id = await createSession()
    const res = await fetch(`${fx.d.url}/pty/${id}/ws`, {
      headers: UPGRADE_HEADERS,
    })
    expect(res.status).toBe(401)
  })
})

test('shutdown kills the processes of every PTY session', async () => {
  const own = await startDaemon()
  const res = await postJson(own, '/pty', {})
  const c = await PtyClient.connect(own, (await res.json()).session_id)
  c.stdin('sleep 400.875\n')
  await waitFor('sleep', () => pidsUnder('400.875', own.proc.pid).length > 0)
  const sleeps = pidsUnder('400.875', own.proc.pid)
  expect(await own.stop()).toBe(0)
  await waitFor('sleep to go', () => stillLive(sleeps, '400.875').length === 0)
})

describe('a terminal whose shell started a process outside its session (setsid)', () => {
  // DELETE /pty hung up the terminal's session: SIGHUP/SIGTERM/SIGKILL to the jobs found by
  // session id. `setsid -f` (a daemon's double fork) leaves that session, and the process ran
  // on after the terminal was deleted, until execd itself stopped.
  test('DELETE /pty ends it too', async () => {
    const res = await postJson(fx.d, '/pty', {
      // The name is put together so that only the escaped process carries it in its argv.
      command:
        'N=pty-escaped-; N=${N}setsid setsid -f nohup bash -c \'exec -a "$N" sleep 1000\' >/dev/null 2>&1; exec sleep 1000',
    })
    expect(res.status).toBe(201)
    const id = (await res.json()).session_id as string
    const client = await PtyClient.connect(fx.d, id)
    try {
      await waitFor('the setsid process to start', () => pidsWith('pty-escaped-setsid').length === 1)
    } finally {
      client.ws.close()
    }
    expect((await fx.d.fetch(`/pty/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(pidsWith('pty-escaped-setsid')).toEqual([])
  }, 30_000)
})
