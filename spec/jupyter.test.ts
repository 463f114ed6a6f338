/**
 * The Jupyter bridge through dist/execd against a real Jupyter server started here (Debian
 * jupyter-server + python3-ipykernel): the shared runtime kit with python served by Jupyter
 * (--prefer-jupyter), then how languages are routed and what only the bridge does.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { jupyterMissing, startJupyter, type TestJupyter } from '../plugins/jupyter/test-server'
import { postJson, readSse, runCli } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, describeRuntimeKit, expectWellFormed, ofType, resultText, runCode } from './runtime-kit'

const missing = await jupyterMissing()
// 'snake' is a language only the Jupyter server offers (ipykernel underneath).
const jupyter: TestJupyter | null = missing ? null : await startJupyter({ snake: 'snake' })
const bridgeArgs = jupyter ? ['--jupyter-host', jupyter.url, '--jupyter-token', jupyter.token] : []

afterAll(async () => {
  await jupyter?.stop()
}, 30_000)

describeRuntimeKit({
  language: 'python',
  available: missing ?? true,
  args: [...bridgeArgs, '--prefer-jupyter'],
  snippets: {
    setState: 'x = 41',
    readState: 'x + 1',
    expectedState: '42',
    printSleepPrint: 'import time\nprint("first", flush=True)\ntime.sleep(1)\nprint("second")',
    error: 'def f():\n    return 1 / 0\nf()',
    expectedErrorName: 'ZeroDivisionError',
    sleepLong: 'import time\ntime.sleep(30)',
    expectedInterruptName: 'KeyboardInterrupt',
    crash: 'import os\nos.kill(os.getpid(), 9)',
    declareThenRead: { cells: ['a1 = 2 + 2\na1', 'a2 = 2 + 2; a2', 'v2 = 4\n(v2)', 'v4: int = 4\nv4'], expected: '4' },
  },
})

const IS_IPYTHON = 'type(get_ipython()).__name__'

describe.skipIf(missing !== null)(`jupyter bridge through dist/execd${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const fx = daemonAlone(() => bridgeArgs, { timeout: 30_000 })

  test('the server’s languages are listed; python stays native unless --prefer-jupyter', async () => {
    const langs = (await (await fx.d.fetch('/code/languages')).json()) as {
      language: string
      runtime: string
      available: boolean
    }[]
    expect(langs.find(l => l.language === 'snake')).toMatchObject({ runtime: 'jupyter', available: true })
    expect(langs.find(l => l.language === 'python')?.runtime).toBe('python')
  })

  test('a language only Jupyter offers runs through a kernel, with display() forwarded as a result', async () => {
    const id = await createContext(fx.d, 'snake', jupyter!.root)
    const events = await runCode(
      fx.d,
      `from IPython.display import display, HTML\ndisplay(HTML("<i>d</i>"))\n${IS_IPYTHON}`,
      {
        id,
        language: 'snake',
      },
    )
    expectWellFormed(events, id)
    const results = ofType(events, 'result').map(e => e.results)
    expect(results[0]['text/html']).toBe('<i>d</i>')
    expect(resultText(events).at(-1)).toBe("'ZMQInteractiveShell'")
    const types = events.map(e => e.type)
    expect(types.indexOf('execution_count')).toBeLessThan(types.indexOf('result'))
  }, 30_000)

  test('a kernel shut down behind execd’s back fails the next run with an error, the one after gets a fresh kernel', async () => {
    const before = new Set(await jupyter!.kernels())
    const id = await createContext(fx.d, 'snake')
    await runCode(fx.d, 'y = 1', { id, language: 'snake' })
    const auth = { Authorization: `token ${jupyter!.token}` }
    for (const k of await jupyter!.kernels()) {
      if (!before.has(k)) await fetch(`${jupyter!.url}/api/kernels/${k}`, { method: 'DELETE', headers: auth })
    }
    const failed = await runCode(fx.d, 'y', { id, language: 'snake' })
    expectWellFormed(failed, id)
    expect(ofType(failed, 'error')[0]?.error.ename).toBe('DeadKernelError')
    const after = await runCode(fx.d, 'y = 2\ny', { id, language: 'snake' })
    expectWellFormed(after, id)
    expect(after[0]?.state_lost).toBe(true)
    expect(resultText(after).at(-1)).toBe('2')
  }, 30_000)

  test('DELETE /code/contexts/{id} shuts the kernel down on the Jupyter server', async () => {
    const before = new Set(await jupyter!.kernels())
    const id = await createContext(fx.d, 'snake')
    const started = (await jupyter!.kernels()).filter(k => !before.has(k))
    expect(started).toHaveLength(1)
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(await jupyter!.kernels()).not.toContain(started[0])
  }, 30_000)

  test('a cell that sends its own result with a string for a bundle gets an empty bundle, not one key per character', async () => {
    // The cell's own code reaches the kernel's session: any message, with the cell as its parent.
    const send = [
      'k = get_ipython().kernel',
      "_m = k.session.send(k.iopub_socket, 'execute_result', {'data': 'x' * 100000, 'metadata': {}, 'execution_count': 1}, parent=k.get_parent())",
    ].join('\n')
    const id = await createContext(fx.d, 'snake')
    const events = await runCode(fx.d, send, { id, language: 'snake' })
    expect(ofType(events, 'result').map(e => e.results)).toEqual([{}])
    expect(events.at(-1)?.type).toBe('execution_complete')
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 30_000)
})

describe.skipIf(missing !== null)('jupyter bridge: a cell that sends its own execute_reply', () => {
  // A short grace: a reply without its idle ends the cell this long after it.
  const fx = daemonAlone(() => [...bridgeArgs, '--jupyter-reply-grace', '200'], { timeout: 30_000 })

  test('an execute_reply on iopub from the cell is no reply: the run goes on to its real end, its output kept', async () => {
    const id = await createContext(fx.d, 'snake')
    // The cell's own code reaches the kernel's session: a reply with the cell as its parent,
    // then the cell runs on well past the grace.
    const forge = [
      'import time',
      'k = get_ipython().kernel',
      "k.session.send(k.iopub_socket, 'execute_reply', {'status': 'ok', 'execution_count': 1}, parent=k.get_parent())",
      'time.sleep(2)',
      "print('after the forged reply')",
    ].join('\n')
    const events = await runCode(fx.d, forge, { id, language: 'snake' })
    expect(ofType(events, 'stdout').map(e => e.text)).toEqual(['after the forged reply\n'])
    expect(events.at(-1)?.type).toBe('execution_complete')
    const next = await runCode(fx.d, "print('next')", { id, language: 'snake' })
    expect(ofType(next, 'stdout').map(e => e.text)).toEqual(['next\n'])
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 30_000)
})

describe.skipIf(missing !== null)('jupyter bridge with --prefer-jupyter', () => {
  const fx = daemonAlone(() => [...bridgeArgs, '--prefer-jupyter'], { timeout: 30_000 })

  test('python is served by an ipykernel, streamed over SSE like any runtime', async () => {
    const res = await postJson(fx.d, '/code', { code: `print("hi")\n${IS_IPYTHON}`, context: { language: 'python' } })
    expect(res.status).toBe(200)
    const events = (await readSse(res)).map(f => f.data)
    expectWellFormed(events)
    expect(
      ofType(events, 'stdout')
        .map(e => e.text)
        .join(''),
    ).toBe('hi\n')
    expect(resultText(events)).toEqual(["'ZMQInteractiveShell'"])
  }, 30_000)
})

/** `execd exec ...` with the bridge configured from the environment, as in the reference's image. */
function execd(args: string[]) {
  return runCli(['exec', ...args], { env: { JUPYTER_HOST: jupyter!.url, JUPYTER_TOKEN: jupyter!.token } })
}

describe.skipIf(missing !== null)('execd exec through the jupyter bridge', () => {
  test('--list names the kernelspec serving a Jupyter-only language', async () => {
    const r = await execd(['--list'])
    expect(r.stdout).toMatch(/snake\s+available\s+jupyter\s+jupyter kernel snake/)
  }, 30_000)

  test('a cell prints its output and its result, and an error exits 1 with the traceback', async () => {
    const ok = await execd(['snake', 'print("hi")\n6 * 7'])
    expect(ok).toMatchObject({ code: 0, stdout: 'hi\n42\n' })
    const bad = await execd(['snake', 'def f():\n    return 1 / 0\nf()'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('ZeroDivisionError: division by zero')
    expect(bad.stderr).toContain('return 1 / 0')
  }, 30_000)
})
