/**
 * A cell's error through dist/execd is bounded like its output: an exception whose message is
 * tens of millions of characters, or a go cell that cannot find thousands of imports, ends
 * with an error event of a few MiB that says how much went, not one of the whole (an 800 MB
 * event for a javascript message of 400 M characters, execd at 3.4 GB).
 */
import { describe, expect, test } from 'bun:test'
import { MAX_ERROR_CHARS } from '../core/error-bound'
import { findGo } from '../plugins/go/toolchain'
import { daemonWithDir } from './kit/daemon-dir'
import { pythonAvailable } from './python-env'
import { expectWellFormed, ofType, runCode, type WireEvent } from './runtime-kit'

const toolchain = await findGo(process.env.EXECD_GO || 'go')
const goAvailable: true | string = 'missing' in toolchain ? toolchain.missing : true

/** The one error event of a cell, whose evalue and traceback lines each fit the bound. */
function boundedErrorOf(events: WireEvent[]): { ename: string; evalue: string; traceback: string[] } {
  expectWellFormed(events)
  const errors = ofType(events, 'error')
  expect(errors).toHaveLength(1)
  const error = errors[0]!.error
  expect(error.evalue.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
  expect(error.traceback.reduce((n: number, l: string) => n + l.length + 1, 0)).toBeLessThanOrEqual(
    MAX_ERROR_CHARS + 200,
  )
  return error
}

const HUGE = 20_000_000

describe('a cell error of tens of millions of characters', () => {
  const fx = daemonWithDir('code-error-bound', tmp => ({ env: { TMPDIR: tmp } }))

  test('javascript: the thrown message is cut, and says how much went', async () => {
    const events = await runCode(fx.d, `throw new Error('x'.repeat(${HUGE}))`, { language: 'javascript' })
    const error = boundedErrorOf(events)
    expect(error.ename).toBe('Error')
    expect(error.evalue).toStartWith('x'.repeat(1_000_000))
    expect(error.evalue).toMatch(/… \d+ more characters dropped/)
    // The context lives on.
    const next = await runCode(fx.d, '1 + 1', { language: 'javascript' })
    expect(ofType(next, 'result')[0]!.results['text/plain']).toBe('2')
  })

  // On the build before, the driver cut only the message: a name or a stack of any size went to
  // execd whole, which read it before its own bound cut it (300 M characters of name: 1.2 GB).
  test('javascript: a name and a stack the cell set are cut in the interpreter, saying so', async () => {
    const code = `const e = new Error('m'); e.name = 'N'.repeat(${HUGE}); e.stack = 'E: m\\n' + '    at f (/f.js:1:1)\\n'.repeat(1e6); throw e`
    const error = boundedErrorOf(await runCode(fx.d, code, { language: 'javascript' }))
    expect(error.ename).toStartWith('N'.repeat(900))
    expect(error.ename).toEndWith("(the javascript driver sends 900 of an error's name)")
    expect(error.traceback[1]).toBe('    at f (/f.js:1:1)')
    expect(error.traceback.at(-1)).toMatch(
      /^… \d+ more lines dropped \(the javascript driver sends \d+ characters of a traceback\)$/,
    )
  })

  test.skipIf(pythonAvailable !== true)('python: the exception is cut, and says how much went', async () => {
    const events = await runCode(fx.d, `raise ValueError('y' * ${HUGE})`, { language: 'python' })
    const error = boundedErrorOf(events)
    expect(error.ename).toBe('ValueError')
    expect(error.evalue).toStartWith('y'.repeat(1_000_000))
    expect(error.evalue).toMatch(/… \d+ more characters dropped/)
    expect(error.traceback.at(-1)).toMatch(/dropped/)
  })

  test.skipIf(goAvailable !== true)(
    'go: 3,000 imports it cannot find are 100 errors and a count of the rest',
    async () => {
      const code = `${Array.from({ length: 3000 }, (_, i) => `import _ "nowhere/p${i}"`).join('\n')}\nfmt.Println(1)\n`
      const events = await runCode(fx.d, code, { language: 'go' })
      const error = boundedErrorOf(events)
      expect(error.ename).toBe('CompilationError')
      expect(error.traceback).toHaveLength(101)
      expect(error.traceback[0]).toContain('nowhere/p0')
      expect(error.traceback.at(-1)).toBe('… 2900 more errors')
    },
    120_000,
  )

  test.skipIf(goAvailable !== true)(
    'go: a cell of 3,000 lines the scanner refuses is 100 errors and a count',
    async () => {
      const events = await runCode(fx.d, "'\n".repeat(3000), { language: 'go' })
      const error = boundedErrorOf(events)
      expect(error.ename).toBe('CompilationError')
      expect(error.traceback).toHaveLength(101)
      expect(error.traceback[0]).toStartWith('cell')
      expect(error.traceback.at(-1)).toBe('… 2900 more errors')
    },
    120_000,
  )
})
