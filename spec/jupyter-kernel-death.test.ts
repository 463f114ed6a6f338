/**
 * A Jupyter kernel that dies mid-cell (found by the fuzz's Jupyter cases, spec/fuzz/runtimes.ts):
 * the server restarts it at once, and execd's shutdown of it must not be lost to that restart.
 * Through dist/execd against a real Jupyter server (Debian jupyter-server + python3-ipykernel).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { jupyterMissing, startJupyter, type TestJupyter } from '../plugins/jupyter/test-server'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, ofType, runCode } from './runtime-kit'

const missing = await jupyterMissing()

describe.skipIf(missing !== null)(`a kernel that dies mid-cell${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let jupyter: TestJupyter
  beforeAll(async () => {
    jupyter = await startJupyter({ snake: 'snake' })
  }, 90_000)
  const fx = daemonAlone(() => ['--jupyter-host', jupyter.url, '--jupyter-token', jupyter.token])
  afterAll(async () => {
    await jupyter?.stop()
  }, 30_000)

  // Each died kernel was left on the server: the DELETE execd sent while the server restarted it
  // was a 500, given up at once ("could not shut the kernel down"), one python process per death.
  const deaths: [string, string][] = [
    ['killed by a signal', 'import os\nos.kill(os.getpid(), 9)'],
    ['exiting', 'import os\nos._exit(3)'],
  ]
  for (const [name, code] of deaths)
    test(`${name}: the next cell gets a fresh kernel, and deleting the context leaves no kernel on the server`, async () => {
      const before = new Set(await jupyter.kernels())
      const id = await createContext(fx.d, 'snake')
      const died = await runCode(fx.d, code, { id, language: 'snake' })
      expect(ofType(died, 'error')[0]?.error.ename).toBe('DeadKernelError')
      // The dead kernel is replaced (and shut down) right away, while the server restarts it.
      const next = await runCode(fx.d, '1 + 1', { id, language: 'snake' })
      expect(next[0]?.state_lost).toBe(true)
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
      expect((await jupyter.kernels()).filter(k => !before.has(k))).toEqual([])
      expect(fx.d.logs()).not.toContain('could not shut the kernel down')
    }, 60_000)
})
