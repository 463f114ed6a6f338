import { describe, expect, test } from 'bun:test'
import { BIN, freePort, readSse, startDaemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const UNAUTHORIZED = '{"error":"Unauthorized: invalid or missing header X-EXECD-ACCESS-TOKEN"}'

const fx = daemonAlone()

describe('auth through the executable', () => {
  for (const path of ['/ping', '/metrics']) {
    test(`${path} is 401 with the reference body without the token, 200 with it`, async () => {
      const bare = await fetch(fx.d.url + path)
      expect(bare.status).toBe(401)
      expect(await bare.text()).toBe(UNAUTHORIZED)
      const wrong = await fetch(fx.d.url + path, { headers: { 'X-EXECD-ACCESS-TOKEN': 'nope' } })
      expect(wrong.status).toBe(401)
      expect((await fx.d.fetch(path)).status).toBe(200)
    })
  }

  test('/ping answers 200 with an empty body and Content-Length: 0', async () => {
    const res = await fx.d.fetch('/ping')
    expect(res.headers.get('content-length')).toBe('0')
    expect(await res.text()).toBe('')
  })
})

describe('metrics', () => {
  test('/metrics has all five fields with sane numbers', async () => {
    const m = await (await fx.d.fetch('/metrics')).json()
    expect(Object.keys(m).sort()).toEqual(['cpu_count', 'cpu_used_pct', 'mem_total_mib', 'mem_used_mib', 'timestamp'])
    expect(m.cpu_count).toBeGreaterThan(0)
    expect(m.cpu_used_pct).toBeGreaterThanOrEqual(0)
    expect(m.cpu_used_pct).toBeLessThanOrEqual(100)
    expect(m.mem_total_mib).toBeGreaterThan(m.mem_used_mib)
    expect(m.mem_used_mib).toBeGreaterThan(0)
    expect(Math.abs(m.timestamp - Date.now())).toBeLessThan(60_000)
  })

  test('/metrics/watch delivers at least two events within 3 s in standard SSE framing', async () => {
    const res = await fx.d.fetch('/metrics/watch', { signal: AbortSignal.timeout(3000) })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const frames = await readSse(res, (_f, all) => all.length === 2)
    expect(frames.map(f => f.id)).toEqual(['1', '2'])
    for (const f of frames) expect(f.data.cpu_count).toBeGreaterThan(0)
    expect(frames[1]?.data.timestamp).toBeGreaterThan(frames[0]?.data.timestamp)
  })
})

describe('errors', () => {
  test('an unknown route is a 404 JSON error, never HTML', async () => {
    const res = await fx.d.fetch('/no/such/route')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toStartWith('application/json')
    expect((await res.json()).code).toBe('NOT_FOUND')
  })

  test('a wrong method on a known path is a 404 JSON error', async () => {
    const res = await fx.d.fetch('/metrics', { method: 'DELETE' })
    expect(res.status).toBe(404)
    expect((await res.json()).code).toBe('NOT_FOUND')
  })
})

describe('listening', () => {
  test('with a token, the default host answers on IPv4 and IPv6 loopback', async () => {
    const port = await freePort()
    const proc = Bun.spawn([BIN, 'serve', '--port', String(port)], {
      stderr: 'pipe',
      stdout: 'ignore',
      env: { ...process.env, EXECD_ACCESS_TOKEN: 'listen-secret', EXECD_HOST: '' },
    })
    const headers = { 'X-EXECD-ACCESS-TOKEN': 'listen-secret' }
    try {
      let v4 = 0
      for (let i = 0; i < 200 && v4 !== 200; i++) {
        v4 = await fetch(`http://127.0.0.1:${port}/ping`, { headers }).then(
          r => r.status,
          () => 0,
        )
        if (v4 !== 200) await Bun.sleep(25)
      }
      expect(v4).toBe(200)
      expect((await fetch(`http://[::1]:${port}/ping`, { headers })).status).toBe(200)
    } finally {
      proc.kill('SIGTERM')
      await proc.exited
    }
    const logs = await new Response(proc.stderr).text()
    expect(logs).toContain('token required')
    expect(logs).not.toContain('listen-secret')
  })
})

describe('shutdown', () => {
  test('SIGTERM ends open streams with an error event and exits 0 within 5 s', async () => {
    const own = await startDaemon()
    const res = await own.fetch('/metrics/watch')
    const reading = readSse(res)
    await Bun.sleep(200)
    const started = Date.now()
    own.proc.kill('SIGTERM')
    const code = await own.proc.exited
    expect(code).toBe(0)
    expect(Date.now() - started).toBeLessThan(5000)
    const frames = await reading
    expect(frames.at(-1)!.data.error?.ename).toBe('ServerShutdown')
    expect(own.logs()).not.toContain(own.token)
  })
})

describe('with the commands section', () => {
  /** `POST /command` of a body as it is, sent as `type`. */
  const postCommand = (body: string, type: string) =>
    fx.d.fetch('/command', { method: 'POST', body, headers: { 'content-type': type } })

  test('malformed JSON is a 400 JSON error with the reference prefix', async () => {
    const res = await postCommand('{"command":', 'application/json')
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('INVALID_REQUEST_BODY')
    expect(body.message).toStartWith('error parsing request, MAYBE invalid body format. ')
  })

  test('a JSON body sent as curl -d sends it (form encoding) is read as JSON, like the reference', async () => {
    const res = await postCommand('{"command":"echo curl"}', 'application/x-www-form-urlencoded')
    expect(res.status).toBe(200)
    const frames = await readSse(res)
    expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['curl'])
  })

  test('children never see the access token', async () => {
    // The token is in execd's own environment (as deployments set it) and given as the flag.
    const own = await startDaemon({ token: 'from-env-secret', env: { EXECD_ACCESS_TOKEN: 'from-env-secret' } })
    try {
      const res = await own.fetch('/command', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'echo "token=${EXECD_ACCESS_TOKEN:-unset}"' }),
      })
      const frames = await readSse(res)
      expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['token=unset'])
    } finally {
      await own.stop()
    }
  })

  // SIGHUP too: a closed terminal must not kill execd by the default action and leave its children.
  for (const signal of ['SIGTERM', 'SIGHUP'] as const)
    test(`${signal} kills running command groups, grandchildren included, and still exits 0 within 5 s`, async () => {
      const own = await startDaemon()
      const res = await own.fetch('/command', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ command: "trap '' TERM; sleep 300 & echo $!; wait" }),
      })
      const frames: { data: any }[] = []
      const reading = readSse(res, f => {
        frames.push(f)
        return false
      })
      for (let i = 0; i < 200 && !frames.some(f => f.data.type === 'stdout'); i++) await Bun.sleep(25)
      const sleeper = Number(frames.find(f => f.data.type === 'stdout')!.data.text)
      expect(sleeper).toBeGreaterThan(0)
      const started = Date.now()
      own.proc.kill(signal)
      expect(await own.proc.exited).toBe(0)
      expect(Date.now() - started).toBeLessThan(5000)
      await reading
      // Gone, or a zombie waiting for PID 1 to reap it: either way no longer running.
      const state = await Bun.file(`/proc/${sleeper}/stat`)
        .text()
        .then(
          t => t.slice(t.lastIndexOf(')') + 2, t.lastIndexOf(')') + 3),
          () => 'gone',
        )
      expect(['gone', 'Z']).toContain(state)
    })
})
