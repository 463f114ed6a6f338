/**
 * A code context deleted as its cell ends. The cell's stream ends as every cell's does (an error,
 * if any, then `execution_complete`, nothing after it), and what it says is what happened: the
 * DELETE stopped the interpreter, which did not die of itself.
 */
import { describe, expect, test } from 'bun:test'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { PYTHON } from './python-env'

const fx = daemonWithDir('code-delete-races', () => ({ env: { EXECD_PYTHON: PYTHON } }))
/** Main's build said "died" in 9 rounds of 40. */
const ROUNDS = 40

describe('a code context deleted as its cell ends', () => {
  test('its cell ends once, and never says the interpreter died', async () => {
    const said = new Map<string, number>()
    for (let round = 0; round < ROUNDS; round++) {
      const created = await postJson(fx.d, '/code/context', { language: 'python' })
      const id = (await created.json()).id as string
      const cell = await postJson(fx.d, '/code', { code: 'print(1)', context: { id } })
      expect(cell.status).toBe(200)
      const events = readSse(cell)
      // Spread over the cell's course: the DELETE meets it at another step.
      await Bun.sleep(round % 15)
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
      const types = (await events).map(f => f.data.type).filter(t => t !== 'ping')
      expect(types.filter(t => t === 'execution_complete')).toEqual(['execution_complete'])
      expect(types.at(-1)).toBe('execution_complete')
      for (const f of await events) {
        if (f.data.type !== 'error') continue
        const words = `${f.data.error.ename}: ${f.data.error.evalue}`.replace(/[0-9a-f-]{36}/, '<id>')
        said.set(words, (said.get(words) ?? 0) + 1)
      }
      expect((await fx.d.fetch(`/code/contexts/${id}`)).status).toBe(404)
    }
    expect([...said.keys()].filter(words => words.includes('died'))).toEqual([])
  }, 120_000)
})
