/**
 * A go cell's `x := 1` lives in that cell only (README, Go contexts): the next cell's `x` is a
 * compile error, which names the cell that declared x and how to keep a value, rather than a
 * bare "undefined: x".
 */
import { ExecutionEventDispatcher, type Execution } from '@alibaba-group/opensandbox'
import { describe, expect, test } from 'bun:test'
import { findGo } from '../plugins/go/toolchain'
import { postJson, readSse } from './harness'
import { daemonWithContext, ofType, resultText, runCode } from './runtime-kit'

const toolchain = await findGo(process.env.EXECD_GO || 'go')
const available: true | string = 'missing' in toolchain ? toolchain.missing : true

describe.skipIf(available !== true)(
  `go's cell-local variables${available === true ? '' : ` (skipped: ${available})`}`,
  () => {
    const fx = daemonWithContext('go')
    const run = (code: string) => runCode(fx.d, code, { id: fx.id, language: 'go' })

    test('a name declared with := in an earlier cell: the error names that cell and says var keeps it', async () => {
      const declared = await run('x := 41\ny, z := 1, 2\n_ = y')
      const cell = ofType(declared, 'execution_count')[0]?.execution_count
      expect(ofType(declared, 'error')).toEqual([])
      const [error] = ofType(await run('x + z'), 'error')
      expect(error?.error.ename).toBe('CompilationError')
      expect(error?.error.traceback).toEqual([
        expect.stringMatching(/^cell\d+:1:1: undefined: x \(/),
        expect.stringMatching(/^cell\d+:1:5: undefined: z \(/),
      ])
      expect(error?.error.traceback[0]).toEndWith(
        `undefined: x (cell${cell}'s x := … lived in that cell only; \`var x = …\` at a cell's top level persists)`,
      )
    })

    test('a name no cell declared stays a bare undefined; one declared with var then works', async () => {
      const [error] = ofType(await run('neverDeclared'), 'error')
      expect(error?.error.evalue).toMatch(/^cell\d+:1:1: undefined: neverDeclared$/)
      await run('var kept = 5')
      expect(resultText(await run('kept'))).toEqual(['5'])
    })

    test('the official SDK shows the hint in the error it gives', async () => {
      await run('w := 3')
      const execution: Execution = { logs: { stdout: [], stderr: [] }, result: [] }
      const dispatcher = new ExecutionEventDispatcher(execution)
      const res = await postJson(fx.d, '/code', { code: 'w * 2', context: { id: fx.id, language: 'go' } })
      for (const frame of await readSse(res)) await dispatcher.dispatch(frame.data)
      expect(execution.error?.name).toBe('CompilationError')
      expect(execution.error?.value).toContain('undefined: w (cell')
      expect(execution.error?.value).toContain('`var w = …` at a cell')
    })
  },
)
