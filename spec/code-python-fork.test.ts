/**
 * A python cell that forks, its child going on past the cell's end: the child was a second
 * driver on the context's channel, its value came as the next cell's and later cells ran in
 * either process at random. The child now ends with its cell; the context stays one interpreter.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startDaemon, type Daemon } from './harness'
import { PYTHON, pythonAvailable } from './python-env'
import { createContext, expectWellFormed, ofType, resultText, runCode } from './runtime-kit'

describe.skipIf(pythonAvailable !== true)(`a python cell that forks (${PYTHON})`, () => {
  let d: Daemon
  let id: string
  beforeAll(async () => {
    d = await startDaemon()
    id = await createContext(d, 'python')
  })
  afterAll(async () => {
    await d?.stop()
  })
  const cell = (code: string) => runCode(d, code, { id, language: 'python' })

  test.each([
    ['goes on past the cell', 'child = os.fork()', 0],
    ['ends its cell with sys.exit(3)', 'child = os.fork()\nif child == 0: sys.exit(3)', 3],
    ['ends its cell with an error', "child = os.fork()\nif child == 0: raise ValueError('in the child')", 1],
  ])('a child that %s ends there; later cells all run in the interpreter', async (_, fork, status) => {
    const first = await cell(`import os, sys\n${fork}\n'parent' if child else 'child'`)
    expectWellFormed(first, id)
    expect(resultText(first)).toEqual(["'parent'"])
    const pids = new Set<string>()
    for (let i = 0; i < 4; i++) {
      const events = await cell('os.getpid()')
      expect(ofType(events, 'error')).toEqual([])
      expect(resultText(events)).toHaveLength(1)
      pids.add(resultText(events)[0])
    }
    expect(pids.size).toBe(1)
    // The child has exited (not waiting for a cell), with its cell's status.
    const reaped = await cell(
      'import time\nend = time.monotonic() + 10\nwhile True:\n' +
        '    pid, st = os.waitpid(child, os.WNOHANG)\n' +
        '    if pid or time.monotonic() > end: break\n' +
        '    time.sleep(0.05)\n' +
        '(pid == child, os.WEXITSTATUS(st) if pid else None)',
    )
    expect(resultText(reaped)).toEqual([`(True, ${status})`])
  })
})
