/** The javascript and typescript languages through dist/execd: the shared runtime kit, then their results. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, waitFor, type Daemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { expectInterpreterReplaced } from './kit/interpreter-replaced'
import {
  createContext,
  describeRuntimeKit,
  expectWellFormed,
  ofType,
  resultText,
  runCode,
  stdoutText,
} from './runtime-kit'

describeRuntimeKit({
  language: 'javascript',
  available: true,
  snippets: {
    setState: 'let x = 41',
    readState: 'x + 1',
    expectedState: '42',
    printSleepPrint: 'console.log("first")\nawait Bun.sleep(1000)\nconsole.log("second")',
    error: 'function check(n) { if (n > 1) throw new RangeError(`too big: ${n}`) }\ncheck(2)',
    expectedErrorName: 'RangeError',
    sleepLong: 'await Bun.sleep(30000)',
    expectedInterruptName: 'KeyboardInterrupt',
    crash: 'process.kill(process.pid, "SIGKILL")',
    crashTraceback: ['signal: killed'],
    declareThenRead: {
      cells: [
        'const a1 = 2 + 2;\na1',
        'const a2 = 2 + 2; a2',
        'var v1 = 4;\nv1',
        'let v2 = 4;\n(v2)',
        'const v4 = 4;\nv4;',
      ],
      expected: '4',
    },
  },
})

describeRuntimeKit({
  language: 'typescript',
  available: true,
  snippets: {
    setState: 'let x: number = 41',
    readState: '(x as number) + 1',
    expectedState: '42',
    printSleepPrint: 'const pause: number = 1000\nconsole.log("first")\nawait Bun.sleep(pause)\nconsole.log("second")',
    error: 'function check(n: number): void { if (n > 1) throw new RangeError(`too big: ${n}`) }\ncheck(2)',
    expectedErrorName: 'RangeError',
    sleepLong: 'await new Promise<void>(resolve => setTimeout(resolve, 30000))',
    expectedInterruptName: 'KeyboardInterrupt',
    crash: 'process.kill(process.pid, "SIGKILL")',
    crashTraceback: ['signal: killed'],
    declareThenRead: {
      cells: [
        'const a1: number = 2 + 2;\na1',
        'const a2 = 2 + 2; a2',
        'var v1: number = 4;\nv1',
        'let v2 = 4;\n(v2)',
        'const v4: number = 4;\nv4;',
      ],
      expected: '4',
    },
  },
})

describe('javascript through dist/execd', () => {
  let d: Daemon
  let cwd: string
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'execd-js-spec-'))
    const pkg = join(cwd, 'node_modules', 'shapes')
    mkdirSync(pkg, { recursive: true })
    writeFileSync(join(pkg, 'package.json'), '{"name":"shapes","type":"module","main":"index.js"}')
    writeFileSync(join(pkg, 'index.js'), 'export const square = n => n * n\n')
    d = await startDaemon({ args: ['--code-interrupt-grace', '500'] })
  })
  afterAll(async () => {
    await d?.stop()
    rmSync(cwd, { recursive: true, force: true })
  })

  test('both languages are listed as available', async () => {
    const res = await d.fetch('/code/languages')
    const body = JSON.stringify(await res.json())
    for (const language of ['javascript', 'typescript'])
      expect(body).toMatch(new RegExp(`"language":"${language}","available":true`))
  })

  test('imports node:fs and a package installed under the context cwd', async () => {
    const id = await createContext(d, 'javascript', cwd)
    const events = await runCode(
      d,
      'import { existsSync } from "node:fs"\nimport { square } from "shapes"\n[existsSync("node_modules"), square(7)]',
      { id },
    )
    expectWellFormed(events, id)
    expect(resultText(events)).toEqual(['[ true, 49 ]'])
  })

  test('an element built with the DOM is a text/html result, an svg element an image/svg+xml one', async () => {
    const id = await createContext(d, 'typescript')
    const html = await runCode(d, 'const p: HTMLElement = document.createElement("p")\np.textContent = "hi"\np', { id })
    expect(ofType(html, 'result')[0]?.results['text/html']).toBe('<p>hi</p>')
    const svg = await runCode(
      d,
      'const s = document.createElementNS("http://www.w3.org/2000/svg", "svg")\ns.appendChild(document.createElementNS("http://www.w3.org/2000/svg", "rect"))\ns',
      { id },
    )
    expect(ofType(svg, 'result')[0]?.results['image/svg+xml']).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg"><rect></rect></svg>',
    )
  })

  test('display() results and output stream in order, execution_count before the value', async () => {
    const id = await createContext(d, 'javascript')
    const events = await runCode(d, 'console.log("a")\ndisplay({ "text/html": "<i>b</i>" })\n"c"', { id })
    expectWellFormed(events, id)
    expect(events.slice(2, -1).map(e => e.type)).toEqual(['stdout', 'result', 'execution_count', 'result'])
    expect(stdoutText(events)).toBe('a\n')
    expect(resultText(events).at(-1)).toBe("'c'")
  })

  test('a busy loop that ignores the interrupt is killed; the next run has a fresh interpreter', async () => {
    const id = await createContext(d, 'javascript')
    await runCode(d, 'let kept = 1', { id })
    const running = runCode(d, 'while (true) {}', { id })
    await Bun.sleep(500)
    expect((await d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
    const events = await running
    expectWellFormed(events, id)
    expect(ofType(events, 'error')[0]?.error.ename).toBe('KeyboardInterrupt')
    const after = await runCode(d, 'typeof kept', { id })
    expect(after[0]?.state_lost).toBe(true)
    expect(resultText(after)).toEqual(["'undefined'"])
  }, 20_000)
})

describe('a cell that sends on the driver’s own channel (process.send)', () => {
  // A daemon each: on the build before, two of these ended execd.
  let d: Daemon
  beforeEach(async () => {
    d = await startDaemon()
  })
  afterEach(async () => {
    await d.stop()
  })

  const SENT: Record<string, string> = {
    'null (ended execd)': 'null',
    'a result whose bundle is a string (ended execd)': '{ t: "result", bundle: "abc" }',
    'a stdout whose text is an object (reached the wire)': '{ t: "stdout", text: { a: 1 } }',
    'an error without its object (ignored before too)': '{ t: "error", error: null }',
  }
  for (const [name, message] of Object.entries(SENT)) {
    test(`${name}: dropped; execd and the cell go on`, async () => {
      const id = await createContext(d, 'javascript')
      const code = `process.send(${message}); await new Promise(r => setTimeout(r, 200)); console.log('after')`
      const events = await runCode(d, code, { id })
      expect(events.filter(e => !['init', 'ping'].includes(e.type)).map(e => e.type)).toEqual([
        'stdout',
        'execution_count',
        'execution_complete',
      ])
      expect(events.find(e => e.type === 'stdout')?.text).toBe('after\n')
      expect(d.proc.exitCode).toBeNull()
      expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 30_000)
  }

  // On the build before, the forged `done` ended the cell at once; the driver ran the next cell
  // only after it, so that one ended on the real `done` with this cell's value and late output.
  for (const language of ['javascript', 'typescript'])
    test(`${language}: a cell's own {t: 'done'} ends nothing; each cell reports its own output and value`, async () => {
      const id = await createContext(d, language)
      const forged = `process.send({ t: 'done' }); process.send({ t: 'done', k: '' }); await Bun.sleep(700); console.log('late'); 'A'`
      const a = await runCode(d, forged, { id, language })
      expect(stdoutText(a)).toBe('late\n')
      expect(resultText(a)).toEqual(["'A'"])
      const b = await runCode(d, `console.log('b'); 'B'`, { id, language })
      expect(stdoutText(b)).toBe('b\n')
      expect(resultText(b)).toEqual(["'B'"])
      const c = await runCode(d, `'C'`, { id, language })
      expect(stdoutText(c)).toBe('')
      expect(resultText(c)).toEqual(["'C'"])
      expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 30_000)

  test('a message over 1 Mi characters is refused in the cell: execd read each whole (600 MB took it to 1.2 GB)', async () => {
    const id = await createContext(d, 'javascript')
    const events = await runCode(d, 'process.send({ t: "stdout", text: "x".repeat(2 << 20) })', { id })
    expectWellFormed(events, id)
    const error = ofType(events, 'error')[0]?.error
    expect(error?.ename).toBe('RangeError')
    expect(error?.evalue).toContain('larger than execd takes from a cell')
    expect(stdoutText(events)).toBe('')
    expect(resultText(await runCode(d, '"still here"', { id }))).toEqual(["'still here'"])
    expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 30_000)

  // On the build before, the bound measured the message and the channel serialised it again:
  // what answered 'a' to the first answered 2 Mi characters to the second, and execd read them.
  const SHIFTY: [string, string][] = [
    ['getter', `let n = 0; process.send({ t: 'stdout', get text() { return n++ ? 'x'.repeat(2 << 20) : 'a' } })`],
    ['toJSON', `let n = 0; process.send({ toJSON: () => ({ t: 'stdout', text: n++ ? 'x'.repeat(2 << 20) : 'a' }) })`],
  ]
  for (const [what, code] of SHIFTY)
    test(`a message whose ${what} answers small, then large: what was measured is what goes`, async () => {
      const id = await createContext(d, 'javascript')
      const events = await runCode(d, code, { id })
      expectWellFormed(events, id)
      expect(stdoutText(events)).toBe('a')
      expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 30_000)
})

describe('a cell that closes the driver’s channel', () => {
  // On the build before, an interpreter whose fd 3 a cell closed lived on without its channel:
  // the cell, and every one after it in the context, waited for good (until an interrupt
  // killed it). `process.disconnect()` ends the driver itself (exit status 0), before as now.
  const fx = daemonAlone()

  const CLOSERS: [string, string, string, string][] = [
    ['javascript', 'its fd 3 closed', 'require("node:fs").closeSync(3)', 'closed its channel to execd'],
    [
      'typescript',
      'its fd 3 closed',
      'const fs: typeof import("node:fs") = require("node:fs"); fs.closeSync(3)',
      'closed its channel to execd',
    ],
    // On the build before, the cell that closed fd 4 ended without an error, and the next one
    // (sent within 500 ms) was the one to end with DeadKernelError.
    ['javascript', 'its fd 4 closed', 'require("node:fs").closeSync(4)', 'closed its channel to execd (fd 4)'],
    [
      'javascript',
      'its fd 4 closed and the number taken by a file',
      'const fs = require("node:fs"); fs.closeSync(4); globalThis.f = fs.openSync("/dev/null", "r"); f',
      'closed its channel to execd (fd 4)',
    ],
    ['javascript', 'process.disconnect()', 'process.disconnect()', 'died (exit status 0)'],
  ]
  for (const [language, name, code, words] of CLOSERS) {
    test(`${language}, ${name}: the cell ends with the interpreter stopped; the next starts a fresh one`, async () => {
      const id = await createContext(fx.d, language)
      const pid = Number(resultText(await runCode(fx.d, 'process.pid', { id }))[0])
      expect(pid).toBeGreaterThan(0)
      await expectInterpreterReplaced(fx.d, id, pid, await runCode(fx.d, code, { id }), words)
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 30_000)
  }

  // On the build before, a channel closed by a timer after its cell had ended was found by the
  // next cell, sent down it within 500 ms: that one ended with DeadKernelError, a fault not its own.
  for (const fd of [3, 4])
    test(`a timer that closes fd ${fd} after its cell ended: the next cell runs in a fresh interpreter, told why`, async () => {
      const id = await createContext(fx.d, 'javascript')
      const closer = `setTimeout(() => require("node:fs").closeSync(${fd}), 50); process.pid`
      const pid = Number(resultText(await runCode(fx.d, closer, { id }))[0])
      expect(pid).toBeGreaterThan(0)
      await waitFor(`the interpreter's fd ${fd} closed`, () => !existsSync(`/proc/${pid}/fd/${fd}`), 10_000)
      const next = await runCode(fx.d, '6 * 7', { id })
      expectWellFormed(next, id)
      expect(ofType(next, 'error')).toEqual([])
      expect(next[0]?.state_lost).toBe(true)
      const lost = ofType(next, 'status').find(e => e.state_lost)
      expect(lost?.text).toContain(`closed its channel to execd (fd ${fd}) after its last cell had ended`)
      expect(resultText(next)).toEqual(['42'])
      expect(existsSync(`/proc/${pid}`)).toBe(false)
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 30_000)
})
