/** The python runtime through dist/execd: the shared runtime kit, then python's rich results. */
import { describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pidsWith } from './harness'
import { PYTHON, hasModule, pythonAvailable } from './python-env'
import {
  createContext,
  daemonWithContext,
  describeRuntimeKit,
  expectWellFormed,
  ofType,
  resultText,
  runCode,
} from './runtime-kit'

describeRuntimeKit({
  language: 'python',
  available: pythonAvailable,
  snippets: {
    setState: 'x = 41',
    readState: 'x + 1',
    expectedState: '42',
    printSleepPrint: 'import time\nprint("first")\ntime.sleep(1)\nprint("second")',
    error: 'def f():\n    return 1 / 0\nf()',
    expectedErrorName: 'ZeroDivisionError',
    sleepLong: 'import time\ntime.sleep(30)',
    expectedInterruptName: 'KeyboardInterrupt',
    crash: 'import os\nos.kill(os.getpid(), 9)',
    crashTraceback: ['signal: killed'],
    declareThenRead: { cells: ['a1 = 2 + 2\na1', 'a2 = 2 + 2; a2', 'v2 = 4\n(v2)', 'v4: int = 4\nv4'], expected: '4' },
  },
})

const matplotlib = hasModule('matplotlib')
const ipython = hasModule('IPython')
const pandas = hasModule('pandas')

describe.skipIf(pythonAvailable !== true)(`python results and semantics (${PYTHON})`, () => {
  const fx = daemonWithContext('python')
  const run = (code: string) => runCode(fx.d, code, { id: fx.id, language: 'python' })

  test('execution_count increments per execution and comes before the result', async () => {
    const a = await run('1')
    const b = await run('2')
    const countA = ofType(a, 'execution_count')[0]?.execution_count
    expect(ofType(b, 'execution_count')[0]?.execution_count).toBe(countA + 1)
    const types = b.map(e => e.type)
    expect(types.indexOf('execution_count')).toBeLessThan(types.indexOf('result'))
  })

  test('a value larger than the channel reads ahead (1 MiB) arrives whole, and the context goes on', async () => {
    // The channel pauses reading past 256 KiB of whole lines not yet taken; one line larger
    // than that must still be read to its newline, not wait for a resume that never comes.
    const events = await run("'x' * (1 << 20)")
    expect(resultText(events)).toEqual([`'${'x'.repeat(1 << 20)}'`])
    expect(resultText(await run('6 * 7'))).toEqual(['42'])
  })

  test('a traceback shows the user’s frames and lines, not the driver’s', async () => {
    const events = await run('def inner():\n    raise ValueError("bad value")\ninner()')
    const { ename, evalue, traceback } = ofType(events, 'error')[0]?.error
    expect([ename, evalue]).toEqual(['ValueError', 'bad value'])
    const text = traceback.join('\n')
    expect(text).toContain('raise ValueError("bad value")')
    expect(text).toContain('in inner')
    expect(text).not.toContain('execd-driver')
  })

  test('a syntax error is an error event naming SyntaxError', async () => {
    const events = await run('x = (')
    expectWellFormed(events, fx.id)
    expect(ofType(events, 'error')[0]?.error.ename).toBe('SyntaxError')
  })

  test('print and stderr are streamed in the order written, before the result', async () => {
    const events = await run('import sys\nprint("out")\nsys.stderr.write("err\\n")\n7')
    const kinds = events
      .filter(e => ['stdout', 'stderr', 'result'].includes(e.type))
      .map(e => `${e.type}:${(e.text ?? e.results?.text ?? '').trim()}`)
    expect(kinds).toEqual(['stdout:out', 'stderr:err', 'result:7'])
  })

  test('output of a subprocess the cell starts is captured too', async () => {
    const events = await run('import os\nos.system("echo from-shell")')
    expect(
      ofType(events, 'stdout')
        .map(e => e.text)
        .join(''),
    ).toContain('from-shell\n')
  })

  // On the build before, these bytes were the driver's fixed marker for "the pipe is drained":
  // a cell's (or its subprocess's) output holding them lost them, and woke the drain early.
  test('output holding the bytes NUL "execd-sync" NUL arrives whole, on fd 1 and fd 2', async () => {
    const bytes = `b'a\\x00execd-sync\\x00b'`
    const events = await run(`import os, sys\nos.write(1, ${bytes})\nos.write(2, ${bytes})`)
    for (const stream of ['stdout', 'stderr'])
      expect(
        ofType(events, stream)
          .map(e => e.text)
          .join(''),
      ).toBe('a\u0000execd-sync\u0000b')
  })

  test('rich representations become MIME entries; display() emits results', async () => {
    const events = await run(
      'class Card:\n    def _repr_html_(self): return "<b>card</b>"\n    def _repr_markdown_(self): return "**card**"\n    def __repr__(self): return "Card()"\ndisplay({"a": 1})\nCard()',
    )
    const results = ofType(events, 'result').map(e => e.results)
    expect(results[0]).toEqual({ 'text/plain': "{'a': 1}", text: "{'a': 1}" })
    expect(results[1]).toEqual({
      'text/html': '<b>card</b>',
      'text/markdown': '**card**',
      'text/plain': 'Card()',
      text: 'Card()',
    })
  })

  test('display() from a thread while the cell displays too: every result arrives, no error', async () => {
    // Each display() first asks the kernel whether the output pipes hold anything: two threads
    // doing so at once must not trip over each other (a shared poll object refuses a second poll).
    const code = [
      'import threading',
      'def shown(v):',
      '    for _ in range(1500):',
      '        display(v)',
      't = threading.Thread(target=shown, args=(1,))',
      't.start()',
      'shown(2)',
      't.join()',
    ].join('\n')
    const events = await run(code)
    expect(ofType(events, 'error')).toEqual([])
    expect(resultText(events).filter(t => t === '1')).toHaveLength(1500)
    expect(resultText(events).filter(t => t === '2')).toHaveLength(1500)
  })

  test('a trailing semicolon and a None value give no result', async () => {
    expect(resultText(await run('1 + 1;'))).toEqual([])
    expect(resultText(await run('None'))).toEqual([])
  })

  test('input() raises a clear error instead of hanging', async () => {
    const events = await run('input("name? ")')
    const { ename, evalue } = ofType(events, 'error')[0]?.error
    expect(ename).toBe('StdinNotImplementedError')
    expect(evalue).toContain('stdin')
  })

  test('top-level await works', async () => {
    expect(resultText(await run('import asyncio\nawait asyncio.sleep(0)\n"awaited"'))).toEqual(["'awaited'"])
  })

  test('the context runs in the cwd it was created with', async () => {
    // A directory the context creates (it does not exist yet), under this run's temp dir.
    const dir = join(tmpdir(), `execd-code-cwd-${crypto.randomUUID()}`)
    try {
      const ctx = await createContext(fx.d, 'python', dir)
      expect(resultText(await runCode(fx.d, 'import os\nos.getcwd()', { id: ctx }))).toEqual([`'${dir}'`])
      await fx.d.fetch(`/code/contexts/${ctx}`, { method: 'DELETE' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test.skipIf(matplotlib !== true)(
    `matplotlib figures become image/png results on plt.show() and at cell end${matplotlib === true ? '' : ` (skipped: ${matplotlib})`}`,
    async () => {
      const events = await run(
        'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\nplt.figure()\nplt.bar([1], [2])\nprint("done")',
      )
      const pngs = ofType(events, 'result').filter(e => e.results['image/png'])
      expect(pngs).toHaveLength(2)
      for (const e of pngs) expect(Buffer.from(e.results['image/png'], 'base64').subarray(1, 4).toString()).toBe('PNG')
    },
    30_000,
  )

  test.skipIf(ipython !== true)(
    `IPython.display's display() and HTML objects work without a Jupyter kernel${ipython === true ? '' : ` (skipped: ${ipython})`}`,
    async () => {
      const events = await run('from IPython.display import display, HTML\ndisplay(HTML("<b>hi</b>"))')
      expect(ofType(events, 'result')[0]?.results['text/html']).toBe('<b>hi</b>')
      expect(ofType(events, 'stderr')).toEqual([])
    },
    30_000,
  )

  test.skipIf(pandas !== true)(
    `a pandas DataFrame gives text/html and text/plain${pandas === true ? '' : ` (skipped: ${pandas})`}`,
    async () => {
      const events = await run('import pandas as pd\npd.DataFrame({"a": [1, 2], "b": ["x", "y"]})')
      const [result] = ofType(events, 'result')
      expect(result?.results['text/html']).toContain('<table')
      expect(result?.results['text/plain']).toContain('a  b')
      expect(result?.results.text).toBe(result?.results['text/plain'])
    },
    30_000,
  )

  // A cell whose forked child went on past the cell's end: the child was a second driver on the
  // context's channel, its value came as a later cell's and cells ran in either process.
  test.each([
    ['goes on past the cell', 'child = os.fork()', 0],
    ['ends its cell with sys.exit(3)', 'child = os.fork()\nif child == 0: sys.exit(3)', 3],
    ['ends its cell with an error', "child = os.fork()\nif child == 0: raise ValueError('in the child')", 1],
  ])('a child that %s ends there; later cells all run in the interpreter', async (_, fork, status) => {
    const first = await run(`import os, sys\n${fork}\n'parent' if child else 'child'`)
    expectWellFormed(first, fx.id)
    expect(resultText(first)).toEqual(["'parent'"])
    const pids = new Set<string>()
    for (let i = 0; i < 4; i++) {
      const events = await run('os.getpid()')
      expect(ofType(events, 'error')).toEqual([])
      expect(resultText(events)).toHaveLength(1)
      pids.add(resultText(events)[0])
    }
    expect(pids.size).toBe(1)
    // The child has exited (not waiting for a cell), with its cell's status.
    const reaped = await run(
      'import time\nend = time.monotonic() + 10\nwhile True:\n' +
        '    pid, st = os.waitpid(child, os.WNOHANG)\n' +
        '    if pid or time.monotonic() > end: break\n' +
        '    time.sleep(0.05)\n' +
        '(pid == child, os.WEXITSTATUS(st) if pid else None)',
    )
    expect(resultText(reaped)).toEqual([`(True, ${status})`])
  })

  // The interpreter replaced by os.execv outlived its channel: every later cell failed after 2 s
  // with DeadKernelError, never a fresh interpreter, and the program it became ran on.
  test('a cell that execs over the interpreter ends it; the next cell gets a fresh one', async () => {
    const own = await createContext(fx.d, 'python')
    const marker = `${(Math.random() * 1000 + 700).toFixed(3)}`
    const execd = await runCode(fx.d, `import os\nos.execv('/bin/sleep', ['sleep', '${marker}'])`, { id: own })
    expect(ofType(execd, 'error').map(e => e.error?.ename)).toEqual(['DeadKernelError'])
    expect(execd.at(-1)?.type).toBe('execution_complete')
    expect(pidsWith(`sleep ${marker}`)).toEqual([])
    const next = await runCode(fx.d, '6 * 7', { id: own })
    expect(ofType(next, 'error')).toEqual([])
    expect(resultText(next)).toEqual(['42'])
  }, 30_000)
})
