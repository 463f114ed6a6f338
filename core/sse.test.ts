import { describe, expect, setSystemTime, test } from 'bun:test'
import { ExecdError } from './errors'
import { EncodedEvent, lineEvent, makeEvent, type ExecEvent } from './events'
import { Journal } from './journal'
import { frame, sseResponse } from './sse'
import { Streams } from './streams'

/** The streams of an app, as core/app.ts makes them: no cap. */
const streams = new Streams(0)

async function body(res: Response): Promise<string> {
  return await res.text()
}

const events = async function* (n: number): AsyncGenerator<ExecEvent> {
  for (let i = 0; i < n; i++) yield makeEvent('stdout', { text: `line ${i}` })
}

describe('sseResponse', () => {
  test('frames each event as id + compact data, ids from 1, with the SSE headers', async () => {
    const res = await sseResponse(streams, events(2), { pingMs: 0 })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('x-accel-buffering')).toBe('no')
    const text = await body(res)
    expect(text).toMatch(/^id: 1\ndata: \{"type":"stdout","text":"line 0","timestamp":\d+\}\n\nid: 2\ndata: /)
    expect(text.endsWith('}\n\n')).toBe(true)
  })

  test("one response's headers changed (a closing answer's) leave every other's as they were", async () => {
    const first = await sseResponse(streams, events(1), { pingMs: 0 })
    first.headers.set('connection', 'close')
    const withOwn = await sseResponse(streams, events(1), { pingMs: 0, headers: { 'x-execution-id': 'abc' } })
    const next = await sseResponse(streams, events(1), { pingMs: 0 })
    for (const res of [withOwn, next]) {
      expect(res.headers.get('connection')).toBe('keep-alive')
      expect(res.headers.get('content-type')).toBe('text/event-stream')
    }
    expect(withOwn.headers.get('x-execution-id')).toBe('abc')
    expect(next.headers.has('x-execution-id')).toBe(false)
    await Promise.all([first, withOwn, next].map(body))
  })

  test('a failure before the first event is a plain JSON error response', async () => {
    const failing = (async function* (): AsyncGenerator<ExecEvent> {
      throw new ExecdError('CONTEXT_NOT_FOUND', 'context x not found')
    })()
    const res = await sseResponse(streams, failing)
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toStartWith('application/json')
    expect(await res.json()).toEqual({ code: 'CONTEXT_NOT_FOUND', message: 'context x not found' })
  })

  test('a failure after the stream started becomes an error event, not raw JSON', async () => {
    const failing = (async function* (): AsyncGenerator<ExecEvent> {
      yield makeEvent('init', { text: 'abc' })
      throw new Error('boom')
    })()
    const text = await body(await sseResponse(streams, failing, { pingMs: 0 }))
    const frames = text.trim().split('\n\n')
    expect(frames).toHaveLength(2)
    expect(JSON.parse(frames[1]?.split('data: ')[1] ?? '').error.evalue).toBe('boom')
  })

  test('keepalive pings go out while the producer is quiet, without ids', async () => {
    const slow = (async function* (): AsyncGenerator<ExecEvent> {
      yield makeEvent('init', { text: 'x' })
      await Bun.sleep(130)
      yield makeEvent('execution_complete')
    })()
    const text = await body(await sseResponse(streams, slow, { pingMs: 50 }))
    const frames = text.trim().split('\n\n')
    const pings = frames.filter(f => f.includes('"type":"ping"'))
    expect(pings.length).toBeGreaterThanOrEqual(1)
    for (const p of pings) expect(p.startsWith('data: {"type":"ping","text":"pong"')).toBe(true)
    expect(frames.at(-1)).toStartWith('id: 2\n')
  })

  test('a client that goes away stops pulling and lets the producer clean up', async () => {
    let cleaned = false
    let produced = 0
    const endless = (async function* (): AsyncGenerator<ExecEvent> {
      try {
        for (;;) {
          produced++
          yield makeEvent('stdout', { text: 'x'.repeat(1000) })
        }
      } finally {
        cleaned = true
      }
    })()
    const res = await sseResponse(streams, endless, { pingMs: 0 })
    const reader = res.body!.getReader()
    await reader.read()
    await reader.read()
    await reader.cancel()
    // The producer's cleanup runs once its pending step settles: a few turns, more under load.
    for (let i = 0; i < 200 && !cleaned; i++) await Bun.sleep(10)
    expect(cleaned).toBe(true)
    // Backpressure: the producer ran at most about a batch (64 KiB, ~64 of these) ahead.
    expect(produced).toBeLessThan(200)
  })

  test('shutdown ends every open stream with an error event', async () => {
    const forever = (async function* (): AsyncGenerator<ExecEvent> {
      yield makeEvent('init', { text: 'x' })
      await new Promise(() => {})
    })()
    const res = await sseResponse(streams, forever, { pingMs: 0 })
    expect(streams.openCount).toBeGreaterThan(0)
    const text = body(res)
    await Bun.sleep(5)
    streams.closeAll()
    const frames = (await text).trim().split('\n\n')
    expect(JSON.parse(frames.at(-1)?.split('data: ')[1] ?? '').error.ename).toBe('ServerShutdown')
  })

  test('events already waiting go out batched, byte for byte the frames one by one', async () => {
    const j = new Journal({ maxEvents: 10_000, maxBytes: 64 * 1024 * 1024 })
    const sent: ExecEvent[] = []
    for (let i = 0; i < 3000; i++) {
      const e =
        i % 7 === 3
          ? makeEvent('result', { results: { 'text/plain': `r${i}` } })
          : lineEvent(i % 2 ? 'stderr' : 'stdout', i % 5 ? `l${i} ${'x'.repeat(i % 300)}` : `"q" é 😀 ${i}`)
      sent.push(e)
      j.tryAppend(e)
    }
    j.end()
    const text = await body(await sseResponse(streams, j.read(0), { pingMs: 0 }))
    expect(text).toBe(sent.map((e, i) => frame(e, i + 1)).join(''))
  })
  test('a pull whose next event is ready makes no keepalive timer for it', async () => {
    // A flood's next run is mostly ready when the last batch is written: each pull made a
    // keepalive timer, a shutdown waiter and their race for it all the same.
    const j = new Journal({ maxEvents: 10_000, maxBytes: 64 * 1024 * 1024 })
    const sent: ExecEvent[] = []
    for (let i = 0; i < 3000; i++) {
      const e = lineEvent('stdout', `${i} ${'x'.repeat(1000)}`)
      sent.push(e)
      j.tryAppend(e)
    }
    const want = sent.map((e, i) => frame(e, i + 1)).join('')
    const res = await sseResponse(streams, j.read(0), { pingMs: 3000 })
    const reader = res.body!.getReader()
    const made = { timers: 0 }
    const setTimer = globalThis.setTimeout
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      made.timers++
      return setTimer(...args)
    }) as typeof setTimeout
    let text = ''
    let reads = 0
    try {
      while (text.length < want.length) {
        const r = await reader.read()
        if (r.done) break
        text += new TextDecoder().decode(r.value)
        reads++
      }
    } finally {
      globalThis.setTimeout = setTimer
    }
    j.end()
    await reader.cancel()
    expect(text).toBe(want)
    // ~3 MiB in batches of 64 KiB: tens of pulls, each found its run ready.
    expect(reads).toBeGreaterThan(20)
    expect(made.timers).toBeLessThan(3)
  })

  test('a source that ends within the hold goes out whole, byte for byte what the stream sends', async () => {
    const sent = [
      makeEvent('init', { text: 'ctx', execution_id: 'e1' }),
      makeEvent('ping', { text: 'pong' }),
      lineEvent('stdout', 'x\n'),
      makeEvent('execution_count', { execution_count: 1 }),
      makeEvent('result', { results: { 'text/plain': '2', text: '2' } }),
      makeEvent('execution_complete', { execution_time: 3 }),
    ]
    const cell = async function* (gate: Promise<void>, ended = () => {}): AsyncGenerator<ExecEvent> {
      yield* sent.slice(0, 2)
      await gate
      yield* sent.slice(2)
      ended()
    }
    // No hold: the response starts with what is ready, and the rest streams after it.
    let open!: () => void
    const streamedRes = await sseResponse(streams, cell(new Promise<void>(r => (open = r))), { pingMs: 0 })
    open()
    const streamed = await body(streamedRes)
    expect(streamed).toBe(sent.map((e, i) => frame(e, i + 1)).join(''))
    // Held: the rest arrives while the response waits, so it is made only once the source ended.
    let ended = false
    let release!: () => void
    const held = sseResponse(
      streams,
      cell(new Promise<void>(r => (release = r)), () => (ended = true)),
      { pingMs: 0, holdMs: 60_000 },
    )
    queueMicrotask(release)
    const whole = await held
    expect(ended).toBe(true)
    expect(await body(whole)).toBe(streamed)
  })

  test('with an end promise, the hold waits on it alone and then sends the whole journal in one body', async () => {
    const j = new Journal()
    const sent = [makeEvent('init', { text: 'ctx' }), makeEvent('ping', { text: 'pong' })]
    for (const e of sent) j.tryAppend(e)
    let finish!: () => void
    const ended = new Promise<void>(r => (finish = r))
    const held = sseResponse(streams, j.read(0), { pingMs: 0, holdMs: 60_000, ended })
    const rest = [lineEvent('stdout', 'x\n'), makeEvent('execution_complete', { execution_time: 1 })]
    for (const e of rest) await j.append(e)
    j.end()
    finish()
    const res = await held
    expect(await body(res)).toBe([...sent, ...rest].map((e, i) => frame(e, i + 1)).join(''))
  })

  test('a body ready whole is the bytes the stream sends, whatever it holds and however long', async () => {
    // What a cell, a command or a replay can journal: plain events, a value already encoded,
    // output lines kept as bytes, text past a short body's length, non-ASCII.
    const fill = (j: Journal, long: number) => {
      j.tryAppend(makeEvent('init', { text: 'ctx', execution_id: 'e1' }))
      j.tryAppend(makeEvent('ping', { text: 'pong' }))
      j.tryAppend(new EncodedEvent('result', Buffer.from('{"text/plain":"\u00e9 2","text":"é 2"}')))
      j.tryAppendLine('stdout', Buffer.from('a line kept as bytes'))
      j.tryAppend(makeEvent('stderr', { text: `${'é'.repeat(long)}\n` }))
      j.tryAppendLine('stdout', Buffer.from('last'))
      j.tryAppend(makeEvent('execution_complete', { execution_time: 2 }))
      j.end()
    }
    // The same clock for both, so the events made twice are the same.
    setSystemTime(new Date(1796130668729))
    try {
      for (const long of [0, 10, 5000, 20_000]) {
        const streamedJournal = new Journal()
        fill(streamedJournal, long)
        const streamed = await body(await sseResponse(streams, streamedJournal.read(0), { pingMs: 0 }))
        const wholeJournal = new Journal()
        fill(wholeJournal, long)
        const held = await sseResponse(streams, wholeJournal.read(0), {
          pingMs: 0,
          holdMs: 60_000,
          ended: Promise.resolve(),
        })
        expect(await body(held)).toBe(streamed)
        expect(streamed).toContain('id: 7\ndata: {"type":"execution_complete"')
      }
    } finally {
      setSystemTime()
    }
    // And without bytes or a long text: the short body alone (a warm cell's).
    const cell = [
      makeEvent('init', { text: 'ctx', execution_id: 'e1', state_lost: undefined }),
      makeEvent('ping', { text: 'pong' }),
      makeEvent('execution_count', { execution_count: 1 }),
      makeEvent('result', { results: { 'text/plain': '2', text: '2' } }),
      makeEvent('execution_complete', { execution_time: 1 }),
    ]
    const j = new Journal()
    for (const e of cell) j.tryAppend(e)
    j.end()
    const res = await sseResponse(streams, j.read(0), { pingMs: 0, holdMs: 60_000, ended: Promise.resolve() })
    expect(await body(res)).toBe(cell.map((e, i) => frame(e, i + 1)).join(''))
    const empty = new Journal()
    empty.end()
    const none = await sseResponse(streams, empty.read(0), { pingMs: 0, holdMs: 60_000, ended: Promise.resolve() })
    expect(none.status).toBe(200)
    expect(await body(none)).toBe('')
  })

  test('with an end promise not settled within the hold, the events stream as they come', async () => {
    const j = new Journal()
    j.tryAppend(makeEvent('init', { text: 'ctx' }))
    const res = await sseResponse(streams, j.read(0), { pingMs: 0, holdMs: 5, ended: new Promise(() => {}) })
    const reader = res.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toStartWith('id: 1\ndata: {"type":"init"')
    j.tryAppend(makeEvent('execution_complete'))
    j.end()
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
    expect(rest).toStartWith('id: 2\ndata: {"type":"execution_complete"')
  })

  test('a source still running when the hold is over streams, its first events not held longer', async () => {
    let release!: () => void
    const gate = new Promise<void>(r => (release = r))
    const slow = (async function* (): AsyncGenerator<ExecEvent> {
      yield makeEvent('init', { text: 'x' })
      await gate // released only once the response is out: a wait past the hold would hang here
      yield makeEvent('execution_complete')
    })()
    const res = await sseResponse(streams, slow, { pingMs: 0, holdMs: 5 })
    const reader = res.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toStartWith('id: 1\ndata: {"type":"init"')
    release()
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
    expect(rest).toStartWith('id: 2\ndata: {"type":"execution_complete"')
  })

  test('events of another type go out through their own encoder, which also writes the failure', async () => {
    interface Sample {
      cpu: number
      mem: number
    }
    const samples = (async function* (): AsyncGenerator<Sample> {
      yield { cpu: 1, mem: 2 }
      yield { cpu: 3, mem: 4 }
      throw new Error('sampler gone')
    })()
    const text = await body(await sseResponse(streams, samples, { pingMs: 0, encode: JSON.stringify }))
    const frames = text.trim().split('\n\n')
    expect(frames.slice(0, 2)).toEqual(['id: 1\ndata: {"cpu":1,"mem":2}', 'id: 2\ndata: {"cpu":3,"mem":4}'])
    expect(frames[2]).toStartWith('id: 3\ndata: {"type":"error","error":{"ename":"RuntimeError"')
  })

  test('every way a stream ends calls onClose once and gives its slot back', async () => {
    const ends: Record<string, number> = {}
    const slots: Record<string, number> = {}
    const opts = (name: string) => ({
      pingMs: 0,
      onClose: () => (ends[name] = (ends[name] ?? 0) + 1),
      slot: () => (slots[name] = (slots[name] ?? 0) + 1),
    })
    const one = async function* (then: 'end' | 'throw' | 'hang'): AsyncGenerator<ExecEvent> {
      yield makeEvent('init', { text: 'x' })
      if (then === 'throw') throw new Error('boom')
      if (then === 'hang') await new Promise(() => {})
    }
    await body(await sseResponse(streams, events(0), opts('empty')))
    await body(await sseResponse(streams, one('end'), opts('done')))
    await body(await sseResponse(streams, one('throw'), opts('failed')))
    const gone = (await sseResponse(streams, one('hang'), opts('cancelled'))).body!.getReader()
    await gone.read()
    await gone.cancel()
    const shut = body(await sseResponse(streams, one('hang'), opts('shutdown')))
    await Bun.sleep(5)
    streams.closeAll()
    await shut
    const all = { empty: 1, done: 1, failed: 1, cancelled: 1, shutdown: 1 }
    expect(ends).toEqual(all)
    expect(slots).toEqual(all)
  })
})

describe('fairness', () => {
  test('a source that is always ready still lets timers and other requests run', async () => {
    // `yes` floods faster than frames are made: a stream that pulled its next batch in the same
    // microtask chain never went back to the event loop, and /ping waited 2–10 s behind it.
    async function* always(): AsyncGenerator<ExecEvent> {
      for (;;) yield lineEvent('stdout', 'y')
    }
    const res = await sseResponse(streams, always(), { pingMs: 0 })
    const reader = res.body!.getReader()
    let received = 0
    let receivedWhenTimerRan = -1
    setTimeout(() => (receivedWhenTimerRan = received), 0)
    while (receivedWhenTimerRan < 0 && received < 64 * 1024 * 1024) {
      const { value, done } = await reader.read()
      if (done) break
      received += value.byteLength
    }
    await reader.cancel()
    expect(receivedWhenTimerRan).toBeGreaterThanOrEqual(0)
    expect(receivedWhenTimerRan).toBeLessThan(1024 * 1024)
  })
})
