/**
 * The Jupyter bridge through dist/execd against a Jupyter server that lies (spec/kit/fake-jupyter.ts):
 * frames that are JSON but no message, bundles that are no object, an interrupt the server
 * refuses or never answers, answers without a kernel id. execd keeps running, every cell ends
 * with an error or its output, the context can be deleted. And a server whose REST answer never
 * ends (the third attacker's pass): read no further than the bridge's cap.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type Behaviour, type FakeJupyter, okCell, startFakeJupyter } from './kit/fake-jupyter'
import { postJson, readSse, rssMiB, startDaemon, type Daemon } from './harness'

let interruptAnswer: 'refuse' | 'never' = 'refuse'
/** Interrupt requests the fake server holds open (execd has not given them up). */
let hungInterrupts = 0

const BEHAVIOURS: Record<string, Behaviour> = {
  nullframe: (req, r) => {
    for (const frame of ['null', '5', '"text"', '[1]']) r.raw(frame)
    okCell()(req, r)
  },
  stringbundle: (req, r) => {
    r.send('execute_result', { data: 'x'.repeat(100_000), execution_count: 1 })
    r.send('display_data', { data: [1, 2, 3] })
    okCell()(req, r)
  },
  oddfields: (req, r) => {
    r.send('stream', { name: 'stdout', text: { not: 'text' } })
    r.send('error', { ename: { a: 1 }, evalue: 'v', traceback: [] })
    okCell()(req, r)
  },
  // Never answers: a cell that runs until interrupted.
  silent: () => {},
}

/** Runs `code` in context `id`; gives up (and fails) after 30 s rather than hang the suite. */
async function cell(d: Daemon, id: string, code = 'x'): Promise<any[]> {
  const res = await postJson(d, '/code', { code, context: { id } }, { signal: AbortSignal.timeout(30_000) })
  expect(res.status).toBe(200)
  return (await readSse(res)).map(f => f.data)
}

async function context(d: Daemon, language: string): Promise<string> {
  const res = await postJson(d, '/code/context', { language })
  expect(res.status).toBe(200)
  return ((await res.json()) as { id: string }).id
}

describe('a Jupyter server that lies to the bridge', () => {
  let fj: FakeJupyter
  let d: Daemon
  beforeAll(async () => {
    fj = startFakeJupyter({
      behaviours: BEHAVIOURS,
      route: (_req, url) => {
        if (!url.pathname.endsWith('/interrupt')) return undefined
        if (interruptAnswer === 'refuse') return new Response('{"message":"no"}', { status: 500 })
        hungInterrupts++
        _req.signal.addEventListener('abort', () => hungInterrupts--)
        return new Promise<Response>(() => {})
      },
    })
    d = await startDaemon({
      args: ['--jupyter-host', fj.url, '--jupyter-token', fj.token, '--code-interrupt-grace', '500'],
    })
  })
  afterAll(async () => {
    await d?.stop()
    fj?.stop()
  })

  test('frames that are JSON but no message (null, a number, a string, an array) are ignored; execd lives', async () => {
    // A daemon of its own: on the build before, this frame ended execd.
    const d = await startDaemon({ args: ['--jupyter-host', fj.url, '--jupyter-token', fj.token] })
    try {
      await nullFrames(d)
    } finally {
      await d.stop()
    }
  }, 60_000)

  async function nullFrames(d: Daemon): Promise<void> {
    const id = await context(d, 'nullframe')
    const events = await cell(d, id)
    expect(events.filter(e => e.type === 'stdout').map(e => e.text)).toEqual(['ok\n'])
    expect(events.at(-1)?.type).toBe('execution_complete')
    expect(d.proc.exitCode).toBeNull()
    expect((await d.fetch('/ping')).status).toBe(200)
    expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(fj.kernels()).toEqual([])
  }

  test('a result whose bundle is a string or an array is an empty bundle, not one key per character', async () => {
    const id = await context(d, 'stringbundle')
    const events = await cell(d, id)
    const results = events.filter(e => e.type === 'result').map(e => e.results)
    expect(results).toEqual([{}, {}])
    expect(events.at(-1)?.type).toBe('execution_complete')
    expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)

  test('a stream text or an ename that is an object is its JSON', async () => {
    const id = await context(d, 'oddfields')
    const events = await cell(d, id)
    expect(events.find(e => e.type === 'stdout')?.text).toBe('{"not":"text"}')
    expect(events.find(e => e.type === 'error')?.error.ename).toBe('{"a":1}')
    expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)

  for (const answer of ['refuse', 'never'] as const) {
    test(`an interrupt the server ${answer === 'refuse' ? 'refuses (500)' : 'never answers'} still stops the cell: its kernel is shut down`, async () => {
      interruptAnswer = answer
      const id = await context(d, 'silent')
      const running = cell(d, id)
      // The cell is running once its request reached the kernel's channel.
      const start = fj.requests.length
      await Bun.sleep(200)
      const stop = await d.fetch(`/code?id=${id}`, { method: 'DELETE' })
      expect(stop.status).toBe(200)
      const events = await running
      expect(events.find(e => e.type === 'error')?.error.ename).toBe('KeyboardInterrupt')
      expect(events.at(-1)?.type).toBe('execution_complete')
      expect(fj.requests.slice(start).some(r => r.startsWith('POST') && r.endsWith('/interrupt'))).toBe(true)
      // The grace ran while the interrupt's request hung: the cell was stopped before execd gave
      // that request up (its 15 s timeout), not 15 s and a grace later.
      if (answer === 'never') expect(hungInterrupts).toBe(1)
      expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 60_000)
  }
})

describe('a Jupyter server whose kernel answers name no kernel', () => {
  for (const [name, body] of [
    ['null', null],
    ['an object without id', {}],
    ['a numeric id', { id: 5 }],
  ] as const) {
    test(`POST /api/kernels answering ${name}: a clear RUNTIME_ERROR`, async () => {
      const fj = startFakeJupyter({ behaviours: { k: okCell() }, startBody: () => body })
      const d = await startDaemon({ args: ['--jupyter-host', fj.url, '--jupyter-token', fj.token] })
      try {
        const res = await postJson(d, '/code/context', { language: 'k' })
        expect(res.status).toBe(500)
        const err = (await res.json()) as { code: string; message: string }
        expect(err.code).toBe('RUNTIME_ERROR')
        expect(err.message).toContain('names no kernel id')
        expect((await d.fetch('/ping')).status).toBe(200)
      } finally {
        await d.stop()
        fj.stop()
      }
    }, 60_000)
  }

  test('kernelspecs whose names and languages are no strings, or null, are skipped', async () => {
    const fj = startFakeJupyter({
      behaviours: { good: okCell(), proto: okCell() },
      specsBody: {
        default: 7,
        kernelspecs: {
          a: null,
          b: { name: 9, spec: { language: 'good', display_name: 'b' } },
          c: { spec: { language: 5 } },
          good: { name: 'good', spec: { language: 'good', display_name: 'good' } },
          proto: { name: 'proto', spec: { language: 'constructor', display_name: 'p' } },
        },
      },
    })
    const d = await startDaemon({ args: ['--jupyter-host', fj.url, '--jupyter-token', fj.token] })
    try {
      const langs = (await (await d.fetch('/code/languages')).json()) as { language: string; runtime: string }[]
      expect(langs.filter(l => l.runtime === 'jupyter').map(l => l.language)).toEqual(['constructor', 'good'])
      // 'constructor' found Object's own function as its setup code's builder: the kernel ran the path as code.
      const res = await postJson(d, '/code/context', { language: 'constructor', cwd: '/tmp' })
      expect(res.status).toBe(200)
      expect(fj.executed).toEqual([])
    } finally {
      await d.stop()
      fj.stop()
    }
  }, 60_000)
})

describe('a Jupyter server whose answer never ends', () => {
  // The bridge read each REST answer whole: behind a server streaming without end, execd grew
  // by ~80 MiB/s on a loaded machine (47 -> 403 MiB before /code/languages gave up on it), and
  // went on until the request's 15 s timeout — a fast local server reaches out-of-memory first.
  test('is read no further than its cap: /code/languages answers with execd memory flat', async () => {
    const chunk = new Uint8Array(1 << 20).fill(0x61)
    const server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () =>
        new Response(new ReadableStream({ pull: c => c.enqueue(chunk) }), {
          headers: { 'content-type': 'application/json' },
        }),
    })
    const bridged = await startDaemon({
      args: ['--jupyter-host', `http://127.0.0.1:${server.port}`, '--jupyter-token', 'unending'],
    })
    try {
      const before = rssMiB(bridged.proc.pid)
      const res = await bridged.fetch('/code/languages')
      expect(res.status).toBe(200)
      const languages = (await res.json()) as { language: string }[]
      expect(languages.some(l => l.language === 'bash')).toBe(true)
      // A second look goes to the server again (the failure is not cached for long): still flat.
      await (await bridged.fetch('/code/languages')).arrayBuffer()
      expect(rssMiB(bridged.proc.pid) - before).toBeLessThan(96)
    } finally {
      await bridged.stop()
      server.stop(true)
    }
  }, 60_000)
})
