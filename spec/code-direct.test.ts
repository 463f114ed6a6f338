/**
 * POST /code has two ways in: the front door answers a body its schema accepts as it is
 * (core/plugin.ts DirectRoute), Elysia's route everything else. A property Elysia strips
 * (`extra`) sends the same cell the Elysia way: both must give the same status, headers and
 * frames (modulo timestamps, ids, counts and durations), for every kind of cell.
 */
import { describe, expect, test } from 'bun:test'
import { postJson } from './harness'
import { type Answer, steadyHeaders } from './kit/steady-answer'
import { pythonAvailable } from './python-env'
import { daemonWithContext } from './runtime-kit'

const fx = daemonWithContext('python', () => (pythonAvailable === true ? [] : null))

/** What differs between two runs of one cell, whichever way it came, made constant. */
const normalize = (body: string) =>
  body
    .replace(/"timestamp":\d+/g, '"timestamp":0')
    .replace(/"execution_time":\d+,/g, '') // 0 ms is left out of the event
    .replace(/"execution_count":\d+/g, '"execution_count":0')
    .replace(/"execution_id":"[0-9a-f]+"/g, '"execution_id":""')
    .replace(/<cell-\d+>/g, '<cell>')

/** Posts `body` and reads the answer; `during` runs once the first chunk holding `waitFor` is in. */
async function answer(body: unknown, waitFor?: string, during?: () => Promise<unknown>): Promise<Answer> {
  const res = await postJson(fx.d, '/code', body)
  const headers = steadyHeaders(res, (k, v) => (k === 'execd-execution-id' ? '(id)' : v))
  let text = ''
  const decoder = new TextDecoder()
  let acted = false
  const reader = res.body!.getReader()
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    text += decoder.decode(r.value, { stream: true })
    if (during && !acted && waitFor && text.includes(waitFor)) {
      acted = true
      await during()
    }
  }
  return { status: res.status, headers, body: normalize(text) }
}

/** The same cell through the direct path, then through Elysia's route. */
async function bothWays(code: string, waitFor?: string, during?: () => Promise<unknown>) {
  const context = { id: fx.id, language: 'python' }
  const direct = await answer({ code, context }, waitFor, during)
  const routed = await answer({ code, context, extra: true }, waitFor, during)
  return { direct, routed }
}

const interrupt = async () => {
  const res = await fx.d.fetch(`/code?id=${fx.id}`, { method: 'DELETE' })
  await res.arrayBuffer()
  expect(res.status).toBe(200)
}

const CELLS: [string, string, string?][] = [
  ['a result', 'x = 20\nx + 1', '"text/plain":"21"'],
  ['stdout', 'print("out")', '"text":"out\\n"'],
  ['stderr', 'import sys\nprint("err", file=sys.stderr)', '"type":"stderr"'],
  ['an error with its traceback', 'def f():\n    1/0\nf()', '"ename":"ZeroDivisionError"'],
  ['display data', 'display({"a": 1})\n"done"', '"type":"result"'],
  [
    'a cell that streams past the hold',
    'import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.05)',
    '"text":"2\\n"',
  ],
  ['output that needs escaping', 'print("q\\"\\\\ \\u00e9 \\U0001F600\\x01")', '"type":"stdout"'],
]

describe.skipIf(pythonAvailable !== true)('POST /code: the direct path answers as the Elysia route', () => {
  for (const [what, code, expected] of CELLS) {
    test(what, async () => {
      const { direct, routed } = await bothWays(code)
      expect(direct.status).toBe(200)
      expect(direct.headers['content-type']).toBe('text/event-stream')
      expect(direct.headers['execd-execution-id']).toBe('(id)')
      if (expected) expect(direct.body).toContain(expected)
      expect(direct.body).toContain('"type":"execution_complete"')
      expect(direct).toEqual(routed)
    })
  }

  test('an interrupted cell', async () => {
    const code = 'import time\nprint("waiting", flush=True)\ntime.sleep(60)'
    const { direct, routed } = await bothWays(code, '"text":"waiting\\n"', interrupt)
    expect(direct.body).toContain('"ename":"KeyboardInterrupt"')
    expect(direct.body).toContain('"type":"execution_complete"')
    expect(direct.body).not.toContain('"type":"result"')
    expect(direct).toEqual(routed)
    // The interrupt stopped the cell, not the interpreter: its state is there for the next.
    const next = await answer({ code: 'time.sleep(0)\n6 * 7', context: { id: fx.id, language: 'python' } })
    expect(next.body).toContain('"text/plain":"42"')
  }, 30_000)

  test('bodies Elysia refuses or alters get its answer with or without a query', async () => {
    for (const body of [
      { code: '' },
      { code: 1 },
      {},
      { code: '1', context: null },
      { code: '1', context: { id: 5 } },
      '{"code":"1","__proto__":{"x":1}}',
    ]) {
      const direct = await postJson(fx.d, '/code', body)
      const routed = await postJson(fx.d, '/code?wait=true', body)
      expect(direct.status).toBe(routed.status)
      const plain = async (r: Response) => normalize(await r.text()).replace(/[0-9a-f]{32}/g, '(id)')
      expect(await plain(direct)).toBe(await plain(routed))
    }
  })
})
