/** CodeOps's warm path, with an interpreter that is a plain object. */
import { expect, test } from 'bun:test'
import { resolveConfig } from '../../core/config'
import { lineEvent } from '../../core/events'
import { createLogger } from '../../core/log'
import type { SseItem } from '../../core/sse'
import type { Runtime, RuntimeContext } from '../../core/plugin'
import { CodeOps } from './ops'

const echo: Runtime = {
  name: 'echo',
  languages: async () => [{ language: 'echo', available: true }],
  start: async (): Promise<RuntimeContext> => ({
    async *run(code) {
      yield lineEvent('stdout', code)
    },
    interrupt: async () => {},
    close: async () => {},
    alive: true,
  }),
}

const service = () =>
  new CodeOps(
    [echo],
    resolveConfig([], {}),
    { preferJupyter: false, interruptGrace: 1000, maxContexts: 4, contextIdle: 0, keepLargeValues: 0 },
    createLogger('silent'),
    () => undefined,
  )

test('a cell in a context named by id starts in the caller’s tick: no promise to wait for before its reply', async () => {
  const code = service()
  const { id } = await code.createContext('echo')
  const started = code.run({ code: 'hi', context: { id } })
  // An async run() was a promise here, and the route's two layers above it two more.
  expect(started instanceof Promise).toBe(false)
  const { execution, events } = started as Exclude<typeof started, Promise<unknown>>
  await execution!.done
  const types: string[] = []
  for await (const item of events) types.push('event' in item ? (item as SseItem).event.type : item.type)
  expect(types).toEqual(['init', 'ping', 'stdout', 'execution_complete'])
  // An unknown id is still a thrown CONTEXT_NOT_FOUND, and the default context still a promise.
  expect(() => code.run({ code: 'x', context: { id: 'nope' } })).toThrow('not found')
  const byLanguage = code.run({ code: 'x', context: { language: 'echo' } })
  expect(byLanguage instanceof Promise).toBe(true)
  await byLanguage
  await code.close()
})
