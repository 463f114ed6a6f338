/** The java runtime through dist/execd: the shared runtime kit, then java specifics. */
import { ExecutionEventDispatcher, type Execution } from '@alibaba-group/opensandbox'
import { describe, expect, test } from 'bun:test'
import { findJdk } from '../plugins/java/jdk'
import { postJson, readSse } from './harness'
import {
  createContext,
  daemonWithContext,
  describeRuntimeKit,
  expectWellFormed,
  ofType,
  resultText,
  runCode,
  stdoutText,
} from './runtime-kit'

const jdk = findJdk(process.env.EXECD_JSHELL || 'jshell')
const available: true | string = 'missing' in jdk ? jdk.missing : true

describeRuntimeKit({
  language: 'java',
  available,
  snippets: {
    setState: 'int x = 41;',
    readState: 'x + 1',
    expectedState: '42',
    printSleepPrint: 'System.out.println("first");\nThread.sleep(1000);\nSystem.out.println("second");',
    error: 'void check() { throw new IllegalStateException("bad state"); }\ncheck()',
    expectedErrorName: 'EvalException',
    sleepLong: 'Thread.sleep(30000)',
    expectedInterruptName: 'EvaluationInterruptedException',
    crash: 'new ProcessBuilder("kill", "-9", String.valueOf(ProcessHandle.current().pid())).start().waitFor()',
    crashTraceback: ['signal: killed'],
    declareThenRead: {
      cells: ['int a1 = 2 + 2;\na1', 'int a2 = 2 + 2; a2', 'var v1 = 4;\nv1', 'int v2 = 4;\n(v2)', 'int v4 = 4;\nv4;'],
      expected: '4',
    },
  },
})

describe.skipIf(available !== true)(
  `java through dist/execd${available === true ? '' : ` (skipped: ${available})`}`,
  () => {
    const fx = daemonWithContext('java')
    const run = (code: string) => runCode(fx.d, code, { id: fx.id, language: 'java' })

    test('java is listed as available with its JDK', async () => {
      const res = await fx.d.fetch('/code/languages')
      const java = (await res.json()).find((l: { language: string }) => l.language === 'java')
      expect(java).toMatchObject({ available: true })
      expect(java.detail).toContain('JDK')
    })

    test('a cell prints, then gives execution_count and its value in order', async () => {
      await run('record Pair(String a, int b) {}')
      const events = await run('System.out.println("making");\nnew Pair("x", 2)')
      expectWellFormed(events, fx.id)
      expect(events.slice(2).map(e => e.type)).toEqual(['stdout', 'execution_count', 'result', 'execution_complete'])
      expect(stdoutText(events)).toBe('making\n')
      expect(resultText(events)).toEqual(['Pair[a=x, b=2]'])
    })

    test("an exception is an EvalException (IJava's name), its class and message in evalue and traceback", async () => {
      const events = await run('int[] a = new int[1];\na[3]')
      const [error] = ofType(events, 'error')
      expect(error?.error.ename).toBe('EvalException')
      expect(error?.error.evalue).toBe('Index 3 out of bounds for length 1')
      expect(error?.error.traceback[0]).toBe(
        'java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 1',
      )
    })

    test("the reference clients' cases: IJava's names for a thrown exception and for code that does not compile", async () => {
      const thrown = ofType(await run('int x = 10 / 0; // This will cause ArithmeticException'), 'error')
      expect(thrown.map(e => [e.error.ename, e.error.evalue, e.error.traceback[0]])).toEqual([
        ['EvalException', '/ by zero', 'java.lang.ArithmeticException: / by zero'],
      ])
      const [broken] = ofType(await run('int y = "text";'), 'error')
      expect(broken?.error.ename).toBe('CompilationException')
      expect(broken?.error.evalue).toContain('incompatible types')
      const [incomplete] = ofType(await run('void f() {'), 'error')
      expect(incomplete?.error).toEqual({
        ename: 'IncompleteSourceException',
        evalue: 'void f() {',
        traceback: ['Incomplete input:', 'void f() {'],
      })
    })

    test('System.exit ends the stream with an error naming the exit status; the next cell restarts', async () => {
      const ctx = await createContext(fx.d, 'java')
      const events = await runCode(fx.d, 'System.exit(3)', { id: ctx, language: 'java' })
      expectWellFormed(events, ctx)
      expect(ofType(events, 'error')[0]?.error.traceback).toContain('exit status 3')
      const after = await runCode(fx.d, '1 + 1', { id: ctx, language: 'java' })
      expect(resultText(after)).toEqual(['2'])
    })

    test('the official SDK’s dispatcher shows stdout, the value, the count and the exception', async () => {
      const sdkRun = async (code: string) => {
        const execution: Execution = { logs: { stdout: [], stderr: [] }, result: [] }
        const dispatcher = new ExecutionEventDispatcher(execution)
        const res = await postJson(fx.d, '/code', { code, context: { id: fx.id, language: 'java' } })
        for (const frame of await readSse(res)) await dispatcher.dispatch(frame.data)
        return execution
      }
      const ok = await sdkRun('System.out.println("hello");\n"a".repeat(3)')
      expect(ok.logs.stdout.map(m => m.text).join('')).toBe('hello\n')
      expect(ok.result.map(r => r.text)).toEqual(['"aaa"'])
      expect(ok.executionCount).toBeGreaterThan(0)
      expect(ok.complete).toBeDefined()
      const failed = await sdkRun('Objects.requireNonNull(null, "nothing here")')
      expect(failed.error?.name).toBe('EvalException')
      expect(failed.error?.value).toBe('nothing here')
      expect(failed.error?.traceback[0]).toBe('java.lang.NullPointerException: nothing here')
      expect(failed.complete).toBeDefined()
    })
  },
)
