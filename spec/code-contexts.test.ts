/** The code section's routes through dist/execd: contexts, default contexts, queueing, replay, errors. */
import { describe, expect, test } from 'bun:test'
import { postJson, readSse, startDaemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { plugins } from '../plugins'
import { pythonAvailable } from './python-env'
import { createContext, expectWellFormed, ofType, resultText, runCode, runInterrupted } from './runtime-kit'

// dist/execd is built from this same plugin list.
const hasCommands = plugins.some(p => p.name === 'command')
const fx = daemonAlone()

describe('code contexts: errors', () => {
  test('an unknown language is a 400 naming the available ones', async () => {
    const res = await postJson(fx.d, '/code/context', { language: 'cobol' })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('INVALID_REQUEST_BODY')
    expect(body.message).toContain("unknown language 'cobol'")
    expect(body.message).toContain('python')
  })

  test('an interpreter that is missing is a 400 saying so, whatever words its path holds', async () => {
    // The limit's 503 was found by matching EMFILE/EAGAIN in the probe's text, which names the
    // interpreter's path: a python missing at such a path was answered "retry once other
    // processes end", for ever.
    const other = await startDaemon({ args: ['--python', '/no/EAGAIN-EMFILE/python3', '--python-spare', '0'] })
    try {
      const res = await postJson(other, '/code/context', { language: 'python' })
      const body = await res.json()
      expect([res.status, body.code]).toEqual([400, 'INVALID_REQUEST_BODY'])
      expect(body.message).toContain("language 'python' is not available here")
    } finally {
      await other.stop()
    }
  })

  test('an empty body is a 400 with the reference prefix', async () => {
    const res = await fx.d.fetch('/code/context', { method: 'POST', headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('INVALID_REQUEST_BODY')
  })

  test('unknown context ids are 404 CONTEXT_NOT_FOUND on get, delete and run', async () => {
    for (const res of [
      await fx.d.fetch('/code/contexts/nope'),
      await fx.d.fetch('/code/contexts/nope', { method: 'DELETE' }),
      await postJson(fx.d, '/code', { code: '1', context: { id: 'nope', language: 'python' } }),
      await fx.d.fetch('/code?id=nope', { method: 'DELETE' }),
      await fx.d.fetch('/code/executions/nope/events'),
    ]) {
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toContain('application/json')
      expect((await res.json()).code).toBe('CONTEXT_NOT_FOUND')
    }
  })

  test('POST /code with an unknown language is a JSON 400, not a stream', async () => {
    const res = await postJson(fx.d, '/code', { code: '1', context: { language: 'cobol' } })
    expect(res.status).toBe(400)
    expect((await res.json()).message).toContain('available languages')
  })

  test('DELETE /code/contexts without language and DELETE /code without id are 400 MISSING_QUERY', async () => {
    const res = await fx.d.fetch('/code/contexts', { method: 'DELETE' })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ code: 'MISSING_QUERY', message: "missing query parameter 'language'" })
    const interrupt = await fx.d.fetch('/code', { method: 'DELETE' })
    expect(await interrupt.json()).toEqual({ code: 'MISSING_QUERY', message: "missing query parameter 'id'" })
  })
})

describe.skipIf(pythonAvailable !== true)('code contexts with python', () => {
  test('GET /code/languages lists python as available', async () => {
    const languages = await (await fx.d.fetch('/code/languages')).json()
    expect(languages.find((l: any) => l.language === 'python')).toMatchObject({ available: true, runtime: 'python' })
  })

  test('a created context is listed, fetched and deleted', async () => {
    const id = await createContext(fx.d, 'python')
    expect(await (await fx.d.fetch(`/code/contexts/${id}`)).json()).toEqual({ id, language: 'python' })
    const listed = await (await fx.d.fetch('/code/contexts?language=python')).json()
    expect(listed).toContainEqual({ id, language: 'python' })
    const del = await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
    expect(del.status).toBe(200)
    expect(del.headers.get('content-length')).toBe('0')
    expect((await fx.d.fetch(`/code/contexts/${id}`)).status).toBe(404)
  })

  test('id-less runs of a language share its default context, which is listed', async () => {
    const a = await runCode(fx.d, 'shared = "yes"', { language: 'python' })
    const b = await runCode(fx.d, 'shared', { language: 'python' })
    expect(resultText(b)).toEqual(["'yes'"])
    expect(a[0]?.text).toBe(b[0]?.text)
    const listed = await (await fx.d.fetch('/code/contexts')).json()
    expect(listed).toContainEqual({ id: a[0]?.text, language: 'python' })
  })

  test('DELETE /code/contexts?language= removes every context of the language', async () => {
    await createContext(fx.d, 'python')
    const res = await fx.d.fetch('/code/contexts?language=python', { method: 'DELETE' })
    expect(res.status).toBe(200)
    expect(await (await fx.d.fetch('/code/contexts?language=python')).json()).toEqual([])
  })

  test('a second execution in a context waits for the first to complete', async () => {
    const id = await createContext(fx.d, 'python')
    const slow = postJson(fx.d, '/code', { code: 'import time\ntime.sleep(0.5)\norder = ["slow"]', context: { id } })
    await Bun.sleep(100)
    const fast = postJson(fx.d, '/code', { code: 'order.append("fast")\norder', context: { id } })
    const [slowEvents, fastEvents] = await Promise.all([slow.then(r => readSse(r)), fast.then(r => readSse(r))])
    const slowDone = slowEvents.at(-1)!.data
    expect(slowDone.type).toBe('execution_complete')
    expect(resultText(fastEvents.map(f => f.data))).toEqual(["['slow', 'fast']"])
    const firstFastOutput = fastEvents.map(f => f.data).find(e => e.type === 'execution_count')
    expect(firstFastOutput.timestamp).toBeGreaterThanOrEqual(slowDone.timestamp)
  })

  test('?wait=false fails at once with ContextBusy instead of queueing', async () => {
    const id = await createContext(fx.d, 'python')
    const slow = postJson(fx.d, '/code', { code: 'import time\ntime.sleep(0.5)', context: { id } }).then(r =>
      readSse(r),
    )
    await Bun.sleep(100)
    const busy = (await readSse(await postJson(fx.d, '/code?wait=false', { code: '1', context: { id } }))).map(
      f => f.data,
    )
    expectWellFormed(busy, id)
    expect(ofType(busy, 'error')[0]?.error.ename).toBe('ContextBusy')
    await slow
    expect(
      resultText(
        (await readSse(await postJson(fx.d, '/code?wait=false', { code: '1', context: { id } }))).map(f => f.data),
      ),
    ).toEqual(['1'])
  })

  test('init carries the execution id (also in EXECD-EXECUTION-ID) and events can be replayed from Last-Event-ID', async () => {
    const id = await createContext(fx.d, 'python')
    const res = await postJson(fx.d, '/code', { code: 'print("a")\nprint("b")\n3', context: { id } })
    const executionId = res.headers.get('EXECD-EXECUTION-ID')
    const frames = await readSse(res)
    expect(frames[0]?.data.execution_id).toBe(executionId)
    const replay = await readSse(
      await fx.d.fetch(`/code/executions/${executionId}/events`, { headers: { 'Last-Event-ID': '2' } }),
    )
    expect(replay.map(f => f.id)).toEqual(frames.slice(2).map(f => f.id))
    expect(replay.map(f => f.data)).toEqual(frames.slice(2).map(f => f.data))
    const after = await readSse(await fx.d.fetch(`/code/executions/${executionId}/events?after=${frames.length - 1}`))
    expect(after.map(f => f.data.type)).toEqual(['execution_complete'])
    // Not a whole number: a 400, as on the command route (it was floored here; spec/resume-edges).
    const odd = await fx.d.fetch(`/code/executions/${executionId}/events`, { headers: { 'Last-Event-ID': '1.5' } })
    expect(odd.status).toBe(400)
  })

  test('a client that disconnects does not stop the execution; its events stay replayable', async () => {
    const id = await createContext(fx.d, 'python')
    const res = await postJson(fx.d, '/code', { code: 'import time\ntime.sleep(0.3)\nkept = 5\nkept', context: { id } })
    const executionId = res.headers.get('EXECD-EXECUTION-ID')
    await readSse(res, f => f.data.type === 'init') // then hang up
    const replay = (await readSse(await fx.d.fetch(`/code/executions/${executionId}/events`))).map(f => f.data)
    expectWellFormed(replay, id)
    expect(resultText(replay)).toEqual(['5'])
    expect(resultText(await runCode(fx.d, 'kept', { id }))).toEqual(['5'])
  })

  test('DELETE /code?id= also takes the execution id of a running cell', async () => {
    const id = await createContext(fx.d, 'python')
    const res = await postJson(fx.d, '/code', { code: 'import time\ntime.sleep(30)', context: { id } })
    const executionId = res.headers.get('EXECD-EXECUTION-ID')!
    const reading = readSse(res)
    await Bun.sleep(200)
    expect((await fx.d.fetch(`/code?id=${executionId}`, { method: 'DELETE' })).status).toBe(200)
    const events = (await reading).map(f => f.data)
    expect(ofType(events, 'error')[0]?.error.ename).toBe('KeyboardInterrupt')
  }, 20_000)

  // It interrupted the cell running ahead of it instead, and then ran anyway.
  test('DELETE /code?id= with the execution id of a queued cell cancels that cell, not the one running', async () => {
    const id = await createContext(fx.d, 'python')
    const running = postJson(fx.d, '/code', {
      code: 'import time\ntime.sleep(1)\nprint("ahead")\nqueued_ran = False',
      context: { id },
    }).then(r => readSse(r))
    await Bun.sleep(100)
    const queued = await postJson(fx.d, '/code', { code: 'queued_ran = True', context: { id } })
    const executionId = queued.headers.get('EXECD-EXECUTION-ID')!
    expect((await fx.d.fetch(`/code?id=${executionId}`, { method: 'DELETE' })).status).toBe(200)
    const cancelled = (await readSse(queued)).map(f => f.data)
    expect(cancelled.map(e => e.type)).toEqual(['init', 'ping', 'error', 'execution_complete'])
    expect(cancelled[2].error.ename).toBe('KeyboardInterrupt')
    const ahead = (await running).map(f => f.data)
    expect(ofType(ahead, 'error')).toEqual([])
    expect(ofType(ahead, 'stdout').map(e => e.text)).toEqual(['ahead\n'])
    expect(resultText(await runCode(fx.d, 'queued_ran', { id }))).toEqual(['False'])
    // Ended: its id is no longer something to interrupt.
    expect((await fx.d.fetch(`/code?id=${executionId}`, { method: 'DELETE' })).status).toBe(404)
  })

  test('interrupting an idle context succeeds and changes nothing', async () => {
    const id = await createContext(fx.d, 'python')
    await runCode(fx.d, 'z = 1', { id })
    expect((await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(resultText(await runCode(fx.d, 'z', { id }))).toEqual(['1'])
  })

  test('a cell that ignores the interrupt is killed after the grace period, and the context says its state was lost', async () => {
    const id = await createContext(fx.d, 'python')
    const code =
      'import time\nwhile True:\n    try:\n        time.sleep(10)\n    except KeyboardInterrupt:\n        print("ignored", flush=True)'
    const events = await runInterrupted(fx.d, code, { id })
    expectWellFormed(events, id)
    expect(ofType(events, 'error')[0]?.error.ename).toBe('KeyboardInterrupt')
    expect(ofType(events, 'error')[0]?.error.evalue).toContain('state is lost')
    const next = await runCode(fx.d, '1', { id })
    expect(next[0]?.state_lost).toBe(true)
    expect(ofType(next, 'status')[0]?.text).toContain('state_lost')
  }, 20_000)
})

describe('code without a language runs as a shell command', () => {
  test.skipIf(!hasCommands)(
    `through the commands section${hasCommands ? '' : ' (skipped: the commands plugin is not in plugins/index.ts yet)'}`,
    async () => {
      const events = (await readSse(await postJson(fx.d, '/code', { code: 'echo hi' }))).map(f => f.data)
      expect(events[0].type).toBe('init')
      expect(ofType(events, 'stdout').map(e => e.text)).toEqual(['hi'])
      expect(events.at(-1).type).toBe('execution_complete')
    },
  )

  test.skipIf(hasCommands)('as 501 NOT_SUPPORTED when the commands section is absent', async () => {
    const res = await postJson(fx.d, '/code', { code: 'echo hi' })
    expect(res.status).toBe(501)
    expect((await res.json()).code).toBe('NOT_SUPPORTED')
  })
})
