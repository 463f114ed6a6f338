/**
 * A java error names where the user wrote the code: the cell (its execution_count) and the line
 * in that cell, as go's errors do ("cell3:5"), not jshell's snippet ids ("#25:1"), which count
 * the helper's own imports and every statement of every cell.
 */
import { describe, expect, test } from 'bun:test'
import { ExecutionEventDispatcher, type Execution } from '@alibaba-group/opensandbox'
import { findJdk } from '../plugins/java/jdk'
import { postJson, readSse } from './harness'
import { daemonWithContext, ofType, runCode } from './runtime-kit'

const jdk = findJdk(process.env.EXECD_JSHELL || 'jshell')
const available: true | string = 'missing' in jdk ? jdk.missing : true

describe.skipIf(available !== true)(
  `java errors at the cell's lines${available === true ? '' : ` (skipped: ${available})`}`,
  () => {
    const fx = daemonWithContext('java')
    const run = async (code: string) => {
      const events = await runCode(fx.d, code, { id: fx.id, language: 'java' })
      const count = ofType(events, 'execution_count')[0]?.execution_count
      return { error: ofType(events, 'error')[0]?.error, count }
    }

    test("a statement's exception is at its line in the cell, blank lines counted", async () => {
      const { error, count } = await run('int[] a = new int[2];\nSystem.out.println("before");\n\n\na[5] = 1;')
      expect(error?.traceback).toEqual([
        'java.lang.ArrayIndexOutOfBoundsException: Index 5 out of bounds for length 2',
        `\tat (cell${count}:5)`,
      ])
    })

    test('a method throwing is at its own cell and line, its caller at the calling cell', async () => {
      const made = await run('int k = 0;\n\nvoid boom() {\n  int q = 0;\n  throw new IllegalStateException("bad");\n}')
      expect(made.error).toBeUndefined()
      const { error, count } = await run('\n\nboom()')
      expect(error?.traceback).toEqual([
        'java.lang.IllegalStateException: bad',
        `\tat boom (cell${made.count}:5)`,
        `\tat (cell${count}:3)`,
      ])
    })

    test("a compile error's message is at the cell's line and column", async () => {
      const { error, count } = await run('int k2 = 0;\n\nvoid bad() {\n  int q = "no";\n}')
      expect(error?.ename).toBe('CompilationException')
      expect(error?.traceback).toEqual([
        '  int q = "no";',
        '          ^',
        `cell${count}:4:11: incompatible types: java.lang.String cannot be converted to int`,
      ])
    })

    test('a null variable is named as the user wrote it, seen so by the official SDK', async () => {
      const execution: Execution = { logs: { stdout: [], stderr: [] }, result: [] }
      const dispatcher = new ExecutionEventDispatcher(execution)
      const code = 'String s = null;\n  s.length()'
      const res = await postJson(fx.d, '/code', { code, context: { id: fx.id, language: 'java' } })
      for (const frame of await readSse(res)) await dispatcher.dispatch(frame.data)
      expect(execution.error?.name).toBe('EvalException')
      expect(execution.error?.value).toBe('Cannot invoke "String.length()" because "s" is null')
      expect(execution.error?.traceback).toEqual([
        'java.lang.NullPointerException: Cannot invoke "String.length()" because "s" is null',
        `\tat (cell${execution.executionCount}:2)`,
      ])
    })
  },
)
