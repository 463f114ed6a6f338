/** The bash language runtime through dist/execd: the shared kit, plus what is bash-specific. */
import { describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
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
    crashTraceback: ['signal: killed'],
  },
})

describe('bash contexts through dist/execd', () => {
  const fx = daemonAlone()

  test('functions, unexported variables and the cwd persist between cells', async () => {
    const id = await createContext(fx.d, 'bash')
    await runCode(fx.d, 'greet() { echo "hi $1"; }\nsecret=s3\ncd /tmp', { id })
    const events = await runCode(fx.d, 'greet "$secret"; pwd', { id })
    expectWellFormed(events, id)
    expect(stdoutText(events)).toBe('hi s3\n/tmp\n')
  })

  test('a non-zero status of the last command is an error event carrying the code', async () => {
    const id = await createContext(fx.d, 'bash')
    const events = await runCode(fx.d, 'echo before; (exit 7)', { id })
    expectWellFormed(events, id)
    expect(stdoutText(events)).toBe('before\n')
    const [error] = ofType(events, 'error')
    expect(error?.error).toMatchObject({ ename: 'CommandExecError', evalue: '7' })
  })

  test("a cell's errors name bash and the cell's line, not execd's code file", async () => {
    // Was `/tmp/…/execd-bash-<nonce>.sh: line 1: …`: the file a run is sourced from.
    const id = await createContext(fx.d, 'bash')
    const events = await runCode(fx.d, 'foo_missing\necho kept\nif then', { id })
    const stderr = ofType(events, 'stderr')
      .map(e => e.text)
      .join('')
    expect(stderr).toBe(
      "bash: line 1: foo_missing: command not found\nbash: line 3: syntax error near unexpected token `then'\nbash: line 3: `if then'\n",
    )
    expect(stdoutText(events)).toBe('kept\n')
    expect(ofType(events, 'error')[0]?.error).toMatchObject({ ename: 'CommandExecError', evalue: '2' })
  })
})

describe('a bash cell that prints a marker built from its code file’s nonce ($BASH_SOURCE)', () => {
  const fx = daemonAlone()

  test('followed by 2 MB without a newline: all of it is output, the cell and the next one run on', async () => {
    const id = await createContext(fx.d, 'bash')
    // That was the run's real end marker once: what followed it was held until a newline, copied
    // whole at every chunk (`yes | tr -d '\n'` grew execd without bound), or swallowed as the exit
    // status, ending the run early. The marker's nonce is per run now; this is output like any.
    const marker = 'n=$(basename "${BASH_SOURCE[0]}" .sh); printf "%s" "__execd_${n#execd-bash-}__"'
    const code = `${marker}; printf ':'; head -c 2000000 /dev/zero | tr '\\0' 1; echo; echo after`
    const events = await runCode(fx.d, code, { id })
    const out = stdoutText(events)
    expect(out.length).toBeGreaterThan(2_000_000)
    expect(out.endsWith('1\nafter\n')).toBe(true)
    expect(events.at(-1)?.type).toBe('execution_complete')
    expect(stdoutText(await runCode(fx.d, 'echo next', { id }))).toBe('next\n')
  }, 60_000)
})
