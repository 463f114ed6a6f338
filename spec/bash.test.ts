/** The bash language runtime through dist/execd: the shared kit, plus what is bash-specific. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startDaemon, type Daemon } from './harness'
import { createContext, describeRuntimeKit, expectWellFormed, ofType, runCode, stdoutText } from './runtime-kit'

describeRuntimeKit({
  language: 'bash',
  available: Bun.which('bash') ? true : 'bash is not on PATH',
  snippets: {
    setState: 'x=41',
    readState: 'echo $((x + 1))',
    expectedState: '42',
    stateVia: 'stdout',
    printSleepPrint: 'echo first; sleep 1; echo second',
    error: 'false',
    expectedErrorName: 'CommandExecError',
    sleepLong: 'sleep 30',
    crash: 'kill -9 $$',
  },
})

describe('bash contexts through dist/execd', () => {
  let d: Daemon
  beforeAll(async () => {
    d = await startDaemon()
  })
  afterAll(async () => {
    await d.stop()
  })

  test('functions, unexported variables and the cwd persist between cells', async () => {
    const id = await createContext(d, 'bash')
    await runCode(d, 'greet() { echo "hi $1"; }\nsecret=s3\ncd /tmp', { id })
    const events = await runCode(d, 'greet "$secret"; pwd', { id })
    expectWellFormed(events, id)
    expect(stdoutText(events)).toBe('hi s3\n/tmp\n')
  })

  test('a non-zero status of the last command is an error event carrying the code', async () => {
    const id = await createContext(d, 'bash')
    const events = await runCode(d, 'echo before; (exit 7)', { id })
    expectWellFormed(events, id)
    expect(stdoutText(events)).toBe('before\n')
    const [error] = ofType(events, 'error')
    expect(error?.error).toMatchObject({ ename: 'CommandExecError', evalue: '7' })
  })
})
