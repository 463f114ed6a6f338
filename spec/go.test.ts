/** The go runtime through dist/execd: the shared runtime kit, the official SDK, and no toolchain. */
import { ExecutionEventDispatcher, type Execution } from '@alibaba-group/opensandbox'
import { describe, expect, test } from 'bun:test'
import { findGo } from '../plugins/go/toolchain'
import { postJson, readSse, startDaemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, describeRuntimeKit, expectWellFormed, ofType, runCode } from './runtime-kit'

const toolchain = await findGo(process.env.EXECD_GO || 'go')
const available: true | string = 'missing' in toolchain ? toolchain.missing : true

describeRuntimeKit({
  language: 'go',
  available,
  snippets: {
    setState: 'var x = 41',
    readState: 'x + 1',
    expectedState: '42',
    printSleepPrint: 'fmt.Println("first")\ntime.Sleep(time.Second)\nfmt.Println("second")',
    error: 'func check() { panic("bad state") }\n\ncheck()',
    expectedErrorName: 'panic',
    sleepLong: 'time.Sleep(30 * time.Second)',
    expectedInterruptName: 'KeyboardInterrupt',
    // The context's process is the kernel, the parent of the cell's program.
    crash: 'syscall.Kill(os.Getppid(), syscall.SIGKILL)',
    crashTraceback: ['signal: killed'],
  },
})

describe.skipIf(available !== true)(
  `go through dist/execd${available === true ? '' : ` (skipped: ${available})`}`,
  () => {
    const fx = daemonAlone()

    test('the official SDK’s dispatcher: two cells of one go context, the declarations persist', async () => {
      const id = await createContext(fx.d, 'go')
      const sdkRun = async (code: string) => {
        const execution: Execution = { logs: { stdout: [], stderr: [] }, result: [] }
        const dispatcher = new ExecutionEventDispatcher(execution)
        const res = await postJson(fx.d, '/code', { code, context: { id, language: 'go' } })
        for (const frame of await readSse(res)) await dispatcher.dispatch(frame.data)
        return execution
      }
      const first = await sdkRun(
        'import "fmt"\n\ntype Greeter struct{ Name string }\n\nfunc (g Greeter) Hello() string { return "hello " + g.Name }\n\nvar count = 2\n\nfmt.Println("declared")',
      )
      expect(first.error).toBeUndefined()
      expect(first.logs.stdout.map(m => m.text).join('')).toBe('declared\n')
      const second = await sdkRun('fmt.Println(count)\nGreeter{"go"}.Hello()')
      expect(second.error).toBeUndefined()
      expect(second.logs.stdout.map(m => m.text).join('')).toBe('2\n')
      expect(second.result.map(r => r.text)).toEqual(['hello go'])
      expect(second.executionCount).toBe(first.executionCount! + 1)
      expect(second.complete).toBeDefined()
    })

    test('a compile error is one error event with the cell line', async () => {
      const id = await createContext(fx.d, 'go')
      const events = await runCode(fx.d, 'a := 1\nb := a +\n', { id, language: 'go' })
      expectWellFormed(events, id)
      const [error] = ofType(events, 'error')
      expect(error?.error.ename).toBe('CompilationError')
      expect(error?.error.evalue).toMatch(/^cell\d+:3:1: /)
    })
  },
)

test('GET /code/languages says go is unavailable, and why, where --go names no toolchain', async () => {
  const d = await startDaemon({ args: ['--go', '/nonexistent/go'] })
  try {
    const res = await d.fetch('/code/languages')
    const entry = (await res.json()).find((l: { language: string }) => l.language === 'go')
    expect(entry).toMatchObject({ language: 'go', available: false })
    expect(entry.detail).toContain('/nonexistent/go not found')
    const create = await postJson(d, '/code/context', { language: 'go' })
    expect(create.status).toBe(400)
  } finally {
    await d.stop()
  }
})
