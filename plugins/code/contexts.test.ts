/** Context capacity and idle expiry, with a runtime whose interpreters are plain objects. */
import { describe, expect, test } from 'bun:test'
import { resolveConfig } from '../../core/config'
import { createLogger } from '../../core/log'
import type { Runtime, RuntimeContext } from '../../core/plugin'
import { ContextStore } from './contexts'
import { LanguageCatalog } from './languages'

const config = resolveConfig([], {})

/** A runtime of 'toy' whose starts fail while `failing` is set; counts live interpreters. */
function toyRuntime() {
  const state = { failing: false, live: 0 }
  const runtime: Runtime = {
    name: 'toy',
    languages: async () => [{ language: 'toy', available: true }],
    start: async () => {
      if (state.failing) throw new Error('no interpreter today')
      state.live++
      let alive = true
      const ctx: RuntimeContext = {
        async *run() {},
        interrupt: async () => {},
        close: async () => {
          if (alive) state.live--
          alive = false
        },
        get alive() {
          return alive
        },
      }
      return ctx
    },
  }
  return { runtime, state }
}

const store = (runtime: Runtime, limits: { maxPerLanguage: number; idleMs: number }) =>
  new ContextStore(new LanguageCatalog([runtime], config, false), config, createLogger('silent'), limits)

describe('ContextStore limits', () => {
  test('an interpreter that fails to start gives its slot back', async () => {
    const { runtime, state } = toyRuntime()
    const contexts = store(runtime, { maxPerLanguage: 1, idleMs: 0 })
    state.failing = true
    await expect(contexts.create('toy')).rejects.toThrow('no interpreter today')
    state.failing = false
    expect((await contexts.create('toy')).language).toBe('toy')
    await expect(contexts.create('toy')).rejects.toThrow('at most 1 toy contexts (--max-contexts)')
  })

  test('an unknown language takes no slot and makes no capacity', async () => {
    const { runtime } = toyRuntime()
    const contexts = store(runtime, { maxPerLanguage: 1, idleMs: 0 })
    for (let i = 0; i < 3; i++) await expect(contexts.create(`nope-${i}`)).rejects.toThrow('unknown language')
    expect((contexts as unknown as { capacities: Map<string, unknown> }).capacities.size).toBe(0)
  })

  test('an idle context is closed and forgotten; a busy one is kept', async () => {
    const { runtime, state } = toyRuntime()
    const contexts = store(runtime, { maxPerLanguage: 0, idleMs: 200 })
    contexts.startExpiry()
    const idle = await contexts.create('toy')
    const busy = await contexts.create('toy')
    let finishBusy = () => {}
    void busy.enqueue(() => new Promise<void>(r => (finishBusy = r)))
    for (let i = 0; i < 100 && contexts.find(idle.id); i++) await Bun.sleep(20)
    expect(contexts.find(idle.id)).toBeUndefined()
    expect(idle.closed).toBe(true)
    expect(contexts.find(busy.id)).toBe(busy)
    expect(state.live).toBe(1)
    finishBusy()
    await contexts.closeAll()
    expect(state.live).toBe(0)
  })
})
