/**
 * The bridge against a real Jupyter server started here (Debian jupyter-server +
 * python3-ipykernel), calling the Runtime directly.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { resolveConfig, SERVER_OPTIONS } from '../../core/config'
import type { ExecEvent } from '../../core/events'
import { createLogger } from '../../core/log'
import type { RuntimeContext } from '../../core/plugin'
import { jupyter } from '.'
import type { JupyterKernel } from './kernel'
import { jupyterMissing, startJupyter, type TestJupyter } from './test-server'

const missing = await jupyterMissing()
if (missing) console.warn(`skipping Jupyter bridge tests: ${missing}`)

const log = createLogger('silent')
const configFor = (flags: Record<string, string>) =>
  resolveConfig([...SERVER_OPTIONS, ...(jupyter.options ?? [])], flags, {})

/** Runs one cell to its end; `onEvent` may act mid-stream (interrupt, kill). */
async function cell(ctx: RuntimeContext, code: string, onEvent?: (e: ExecEvent) => void): Promise<ExecEvent[]> {
  const events: ExecEvent[] = []
  for await (const e of ctx.run(code)) {
    events.push(e)
    onEvent?.(e)
  }
  return events
}

const text = (events: ExecEvent[], type: 'stdout' | 'stderr') =>
  events
    .filter(e => e.type === type)
    .map(e => e.text)
    .join('')

describe.skipIf(missing !== null)('jupyter bridge with a real server', () => {
  let server: TestJupyter
  let config: ReturnType<typeof configFor>
  let ctx: RuntimeContext
  const start = (cwd = server.root) => jupyter.start({ language: 'python', cwd, env: {}, config, log })

  beforeAll(async () => {
    // 'apython' sorts before the default 'python3' and must not win; 'snake' is another language.
    server = await startJupyter({ apython: 'python', snake: 'snake' })
    config = configFor({ 'jupyter-host': server.url, 'jupyter-token': server.token, 'jupyter-reply-grace': '2000' })
    ctx = await start()
  }, 90_000)

  afterAll(async () => {
    await ctx?.close()
    await server?.stop()
  }, 30_000)

  test('every kernelspec language is offered, served by the default kernelspec when it matches', async () => {
    const langs = await jupyter.languages(config)
    expect(langs.map(l => l.language)).toEqual(['python', 'snake'])
    expect(langs.every(l => l.available)).toBe(true)
    expect(langs[0]?.detail).toContain('jupyter kernel python3 ')
    expect(langs[1]?.detail).toContain('jupyter kernel snake ')
  }, 30_000)

  test('state survives between cells and the last value is a result with text/plain and text', async () => {
    await cell(ctx, 'x = 41')
    const events = await cell(ctx, 'x + 1')
    expect(events.map(e => e.type)).toEqual(['execution_count', 'result'])
    expect(events[0]?.execution_count).toBeGreaterThan(0)
    expect(events[1]?.results).toEqual({ 'text/plain': '42', text: '42' })
  }, 30_000)

  test('execution_count increments per cell, also for cells without a result', async () => {
    const a = await cell(ctx, 'print("no result")')
    const b = await cell(ctx, '1')
    const countOf = (ev: ExecEvent[]) => ev.find(e => e.type === 'execution_count')?.execution_count as number
    expect(a.map(e => e.type)).toEqual(['stdout', 'execution_count'])
    expect(countOf(b)).toBe(countOf(a) + 1)
  }, 30_000)

  test('stdout and stderr stream as the kernel writes them', async () => {
    const events = await cell(
      ctx,
      'import sys, time\nprint("one", flush=True)\ntime.sleep(0.5)\nsys.stderr.write("two\\n")\nprint("three")',
    )
    expect(text(events, 'stdout')).toBe('one\nthree\n')
    expect(text(events, 'stderr')).toBe('two\n')
    const first = events.findIndex(e => e.type === 'stdout')
    expect(events[first]?.text).toBe('one\n')
  }, 30_000)

  test('display_data is forwarded as a result (the reference dropped it)', async () => {
    const events = await cell(ctx, 'from IPython.display import display, HTML\ndisplay(HTML("<b>hi</b>"))\n"after"')
    const results = events.filter(e => e.type === 'result').map(e => e.results!)
    expect(results).toHaveLength(2)
    expect(results[0]?.['text/html']).toBe('<b>hi</b>')
    expect(results[0]?.text).toBe(results[0]?.['text/plain'])
    expect(results[1]?.text).toBe("'after'")
  }, 30_000)

  test('an exception is an error event with name, value and traceback, and the kernel goes on', async () => {
    const events = await cell(ctx, 'def f():\n    return 1 / 0\nf()')
    const err = events.find(e => e.type === 'error')!
    expect(err.error!.ename).toBe('ZeroDivisionError')
    expect(err.error!.evalue).toBe('division by zero')
    const traceback = err.error!.traceback.join('\n')
    expect(traceback).toContain('return 1 / 0')
    expect(traceback).not.toContain('\x1b[')
    expect(events.at(-1)!.type).toBe('error')
    const next = await cell(ctx, 'x')
    expect(next.find(e => e.type === 'result')!.results!.text).toBe('41')
  }, 30_000)

  test('the kernel starts in the context cwd', async () => {
    const dir = realpathSync(mkdtempSync(join(server.root, 'cwd-')))
    const other = await start(dir)
    try {
      const events = await cell(other, 'import os\nos.getcwd()')
      expect(events.find(e => e.type === 'result')!.results!.text).toBe(`'${dir}'`)
    } finally {
      await other.close()
    }
  }, 30_000)

  test('interrupt stops a sleeping cell with KeyboardInterrupt and keeps the state', async () => {
    await cell(ctx, 'kept = "yes"')
    const events = await cell(ctx, 'import time\nprint("sleeping", flush=True)\ntime.sleep(30)', e => {
      if (e.type === 'stdout') void ctx.interrupt()
    })
    expect(events.find(e => e.type === 'error')!.error!.ename).toBe('KeyboardInterrupt')
    expect(ctx.alive).toBe(true)
    const after = await cell(ctx, 'kept')
    expect(after.find(e => e.type === 'result')!.results!.text).toBe("'yes'")
  }, 30_000)

  test('an interrupt asked as a cell ends never lands in the next cell', async () => {
    // The SIGINT goes through the server: sent at the cell's last event, it reached the kernel
    // while the next cell already ran.
    for (let n = 0; n < 5; n++) {
      let asked: Promise<void> | undefined
      await cell(ctx, `n = ${n}`, () => (asked ??= ctx.interrupt()))
      const next = await cell(ctx, 'import time\ntime.sleep(0.2)\nn')
      await asked
      expect(next.find(e => e.type === 'error')?.error?.ename).toBeUndefined()
      expect(next.find(e => e.type === 'result')!.results!.text).toBe(`${n}`)
    }
  }, 30_000)

  test('a kernel killed mid-cell ends the stream with an error instead of hanging', async () => {
    const victim = await start()
    try {
      const pid = Number((await cell(victim, 'import os\nos.getpid()')).find(e => e.type === 'result')!.results!.text)
      const events = await cell(victim, 'import time\nprint("busy", flush=True)\ntime.sleep(30)', e => {
        if (e.type === 'stdout') process.kill(pid, 'SIGKILL')
      })
      const last = events.at(-1)!
      expect(last.type).toBe('error')
      expect(last.error!.ename).toBe('DeadKernelError')
      expect(last.error!.evalue).toContain('state is lost')
      expect(victim.alive).toBe(false)
      // A later run on the dead context says so at once.
      const again = await cell(victim, '1')
      expect(again.map(e => e.type)).toEqual(['error'])
    } finally {
      await victim.close()
    }
  }, 30_000)

  test('a kernel shut down through the server mid-cell ends the stream, and the next run says it is gone', async () => {
    const victim = (await start()) as JupyterKernel
    try {
      let shutdown: Promise<Response> | undefined
      const events = await cell(victim, 'import time\nprint("busy", flush=True)\ntime.sleep(30)', e => {
        if (e.type === 'stdout') {
          shutdown = fetch(`${server.url}/api/kernels/${victim.kernelId}`, {
            method: 'DELETE',
            headers: { Authorization: `token ${server.token}` },
          })
        }
      })
      // The server interrupts before it shuts down, so the cell may end as KeyboardInterrupt.
      expect(events.at(-1)!.type).toBe('error')
      expect((await shutdown)!.status).toBe(204)
      const again = await cell(victim, '1')
      expect(again.map(e => e.type)).toEqual(['error'])
      expect(again[0]?.error!.ename).toBe('DeadKernelError')
      expect(victim.alive).toBe(false)
    } finally {
      await victim.close()
    }
  }, 30_000)

  test('a Jupyter server that dies mid-cell ends the stream with an error', async () => {
    const doomed = await startJupyter()
    const k = await jupyter.start({
      language: 'python',
      cwd: doomed.root,
      env: {},
      config: configFor({ 'jupyter-host': doomed.url, 'jupyter-token': doomed.token }),
      log,
    })
    let kernelPid = 0
    try {
      kernelPid = Number((await cell(k, 'import os\nos.getpid()')).find(e => e.type === 'result')!.results!.text)
      const events = await cell(k, 'import time\nprint("busy", flush=True)\ntime.sleep(30)', e => {
        if (e.type === 'stdout') doomed.process.signal('SIGKILL')
      })
      expect(events.at(-1)!.error!.ename).toBe('DeadKernelError')
      expect(events.at(-1)!.error!.evalue).toContain('unreachable')
      expect(k.alive).toBe(false)
    } finally {
      // A kernel may outlive its SIGKILLed server for a while: end this one by hand.
      try {
        if (kernelPid) process.kill(kernelPid, 'SIGKILL')
      } catch {}
      await k.close()
      await doomed.stop()
    }
  }, 60_000)

  test('an idle without its execute_reply ends the stream after the grace period (reference #1206)', async () => {
    const k = await start()
    try {
      // The kernel announces idle for this very request, then stays busy: the reply never comes in time.
      const code = 'import time\nget_ipython().kernel._publish_status("idle", "shell")\ntime.sleep(30)'
      const events = await cell(k, code)
      expect(events.at(-1)!.error!.ename).toBe('KernelReplyTimeout')
      expect(k.alive).toBe(true)
    } finally {
      await k.close()
    }
  }, 30_000)

  test('close shuts the kernel down on the server', async () => {
    const k = (await start()) as JupyterKernel
    expect(await server.kernels()).toContain(k.kernelId)
    await k.close()
    await k.close()
    expect(await server.kernels()).not.toContain(k.kernelId)
    expect(k.alive).toBe(false)
  }, 30_000)

  test('a language no kernelspec offers is refused with the server named', async () => {
    await expect(jupyter.start({ language: 'cobol', cwd: server.root, env: {}, config, log })).rejects.toThrow(
      /has no kernel for 'cobol'/,
    )
  }, 30_000)
})

describe('jupyter bridge without a server', () => {
  test('is off without --jupyter-host and --jupyter-token', async () => {
    expect(await jupyter.languages(configFor({}))).toEqual([])
    expect(await jupyter.languages(configFor({ 'jupyter-host': 'http://127.0.0.1:9' }))).toEqual([])
    await expect(jupyter.start({ language: 'python', cwd: '/', env: {}, config: configFor({}), log })).rejects.toThrow(
      /not configured/,
    )
  })

  test('an unreachable server offers no languages and refuses to start', async () => {
    const config = configFor({ 'jupyter-host': 'http://127.0.0.1:9', 'jupyter-token': 't' })
    expect(await jupyter.languages(config)).toEqual([])
    await expect(jupyter.start({ language: 'python', cwd: '/', env: {}, config, log })).rejects.toThrow(/unreachable/)
  })
})
