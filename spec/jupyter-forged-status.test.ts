/**
 * A Jupyter cell that forges its kernel's protocol: ipykernel hands the cell its own session
 * (`get_ipython().kernel.session`), so it can put on iopub a `status: idle` with its own request
 * as parent, or the server's `status: dead` notice. Nothing on the wire tells these from the
 * kernel's (the server's activity watcher takes them too, and REST then says 'dead'), so execd
 * cannot refuse them; what it must hold is that the damage stays in the forging context: its
 * next cell reports only its own output, another context's cell running meanwhile is untouched,
 * no kernel is left on the server. Through dist/execd against a real Jupyter server.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { jupyterMissing, startJupyter, type TestJupyter } from '../plugins/jupyter/test-server'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, ofType, resultText, runCode, stdoutText } from './runtime-kit'

const missing = await jupyterMissing()
const GRACE_MS = 1000
const forge = (state: string) =>
  `k = get_ipython().kernel\nk.session.send(k.iopub_socket, 'status', {'execution_state': '${state}'}, parent=k.get_parent())\n` +
  `import time\ntime.sleep(${(GRACE_MS * 2) / 1000})\nprint('late')`

describe.skipIf(missing !== null)(
  `a cell forging its kernel's status${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let jupyter: TestJupyter
    beforeAll(async () => {
      jupyter = await startJupyter({ snake: 'snake' })
    }, 90_000)
    const fx = daemonAlone(() => [
      '--jupyter-host',
      jupyter.url,
      '--jupyter-token',
      jupyter.token,
      '--jupyter-reply-grace',
      `${GRACE_MS}`,
    ])
    afterAll(async () => {
      await jupyter?.stop()
    }, 30_000)

    const cases: [string, string, boolean][] = [
      // The cell ends one reply grace after its forged idle; its later output is its own loss.
      ['idle', 'KernelReplyTimeout', false],
      // As if the cell had killed its kernel: the next cell gets a fresh one.
      ['dead', 'DeadKernelError', true],
    ]
    for (const [state, ename, stateLost] of cases)
      test(`'${state}': the cell ends with ${ename}; its context's next cell and another context's are their own`, async () => {
        const before = new Set(await jupyter.kernels())
        const [a, b] = await Promise.all([createContext(fx.d, 'snake'), createContext(fx.d, 'snake')])
        await runCode(fx.d, 'x = 41', { id: a })
        const [forged, other] = await Promise.all([
          runCode(fx.d, forge(state), { id: a }),
          runCode(fx.d, `import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.5)\n'b'`, {
            id: b,
          }),
        ])
        expect(ofType(forged, 'error').map(e => e.error.ename)).toEqual([ename])
        expect(stdoutText(forged)).toBe('')
        expect(stdoutText(other)).toBe('0\n1\n2\n')
        expect(resultText(other)).toEqual(["'b'"])
        const next = await runCode(fx.d, `print('next')\nx + 1 if 'x' in dir() else 'fresh'`, { id: a })
        expect(stdoutText(next)).toBe('next\n')
        expect(resultText(next)).toEqual([stateLost ? "'fresh'" : '42'])
        expect(ofType(next, 'status').length).toBe(stateLost ? 1 : 0)
        for (const id of [a, b])
          expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
        expect((await jupyter.kernels()).filter(k => !before.has(k))).toEqual([])
        expect(fx.d.proc.exitCode).toBeNull()
      }, 60_000)
  },
)
