/**
 * A javascript or typescript cell's traceback holds the user's frames only: the driver's scope
 * for each cell (an AsyncLocalStorage, stop 56) had added `at run (node:async_hooks:…)` below
 * them, in every error of every cell.
 */
import { describe, expect, test } from 'bun:test'
import { daemonWithContext, ofType, runCode } from './runtime-kit'

for (const language of ['typescript', 'javascript']) {
  describe(`${language} tracebacks`, () => {
    const fx = daemonWithContext(language)
    const run = (code: string) => runCode(fx.d, code, { id: fx.id, language })

    test('a function throwing shows its frame and the cell, each with its code line, and nothing else', async () => {
      const typed = language === 'typescript' ? ': never' : ''
      const events = await run(`function boom()${typed} {\n  throw new Error('bad')\n}\n\nboom()`)
      const count = ofType(events, 'execution_count')[0]?.execution_count
      expect(ofType(events, 'error')[0]?.error.traceback).toEqual([
        'Error: bad',
        `    at boom (<cell ${count}>)`,
        '        throw new Error("bad");',
        `    at <cell ${count}>`,
        '        boom()',
      ])
    })
  })
}
