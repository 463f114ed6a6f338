/**
 * End to end as the official clients drive /code: the code-interpreter SDK (not on npm) feeds the
 * /code response to the main package's ExecutionEventDispatcher. Its line parser is not
 * exported, so `sdkLines` below applies the same rules (one JSON value per line, `data:`
 * prefix stripped, `id:`/`event:`/`retry:`/comment lines skipped).
 */
import { ExecutionEventDispatcher, type Execution } from '@alibaba-group/opensandbox'
import { describe, expect, test } from 'bun:test'
import { postJson, type Daemon } from './harness'
import { pythonAvailable } from './python-env'
import { daemonWithContext } from './runtime-kit'

async function* sdkLines(res: Response): AsyncGenerator<any> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buf += decoder.decode(value, { stream: true })
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim()
      buf = buf.slice(nl + 1)
      if (!line || line.startsWith(':') || /^(event|id|retry):/.test(line)) continue
      const json = line.startsWith('data:') ? line.slice(5).trim() : line
      try {
        yield JSON.parse(json)
      } catch {}
    }
  }
}

/** What a user of the code-interpreter SDK gets back from `codes.run(code, { context })`. */
async function sdkRun(d: Daemon, code: string, context: { id: string; language: string }): Promise<Execution> {
  const res = await postJson(d, '/code', { code, context }, { headers: { accept: 'text/event-stream' } })
  expect(res.status).toBe(200)
  const execution: Execution = { logs: { stdout: [], stderr: [] }, result: [] }
  const dispatcher = new ExecutionEventDispatcher(execution)
  for await (const ev of sdkLines(res)) await dispatcher.dispatch(ev)
  return execution
}

describe.skipIf(pythonAvailable !== true)('the official SDK’s dispatcher on /code', () => {
  const fx = daemonWithContext('python')
  const context = () => ({ id: fx.id, language: 'python' })

  test('stdout, result text, execution count and completion are what the SDK shows', async () => {
    const first = await sdkRun(fx.d, 'x = 41\nprint("hello")\nx + 1', context())
    expect(first.id).toBe(fx.id)
    expect(first.logs.stdout.map(m => m.text).join('')).toBe('hello\n')
    expect(first.result.map(r => r.text)).toEqual(['42'])
    expect(first.error).toBeUndefined()
    expect(first.complete).toBeDefined()
    const second = await sdkRun(fx.d, 'x', context())
    expect(second.executionCount).toBe(first.executionCount! + 1)
  })

  test('an exception shows as the SDK’s error name and value, and the run still completes', async () => {
    const execution = await sdkRun(fx.d, 'raise KeyError("missing")', context())
    expect(execution.error?.name).toBe('KeyError')
    expect(execution.error?.value).toBe("'missing'")
    expect(execution.error?.traceback.join('\n')).toContain('raise KeyError("missing")')
    expect(execution.complete).toBeDefined()
  })

  test('rich results keep their MIME bundle in raw, with text for the SDK', async () => {
    const execution = await sdkRun(
      fx.d,
      'class H:\n    def _repr_html_(self): return "<i>h</i>"\n    def __repr__(self): return "H"\nH()',
      context(),
    )
    expect(execution.result[0]?.text).toBe('H')
    expect(execution.result[0]?.raw?.['text/html']).toBe('<i>h</i>')
  })
})
