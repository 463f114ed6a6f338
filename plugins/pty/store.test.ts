import { describe, expect, test } from 'bun:test'
import { ExecdError } from '../../core/errors'
import { PtyStore } from './store'

const until = async (check: () => boolean) => {
  for (let i = 0; i < 1000 && !check(); i++) await Bun.sleep(10)
}

describe('PtyStore', () => {
  test('unknown sessions are CONTEXT_NOT_FOUND with the reference message', () => {
    const store = new PtyStore()
    try {
      store.get('nope')
      throw new Error('expected a throw')
    } catch (e) {
      expect(e).toBeInstanceOf(ExecdError)
      expect((e as ExecdError).code).toBe('CONTEXT_NOT_FOUND')
      expect((e as ExecdError).message).toBe('pty session nope not found')
    }
  })

  test('a cwd that is missing or not a directory is refused at create', () => {
    const store = new PtyStore()
    expect(() => store.create({ cwd: '/definitely/not/here' })).toThrow('error creating pty session: ')
    expect(() => store.create({ cwd: '/etc/hostname' })).toThrow('is not a directory')
    expect(store.size).toBe(0)
  })

  test('delete kills the process and forgets the session', async () => {
    const store = new PtyStore()
    const s = store.create({ command: 'sleep 100' })
    s.start('pipe')
    await store.delete(s.id)
    expect(s.running).toBe(false)
    expect(() => store.get(s.id)).toThrow()
  })

  test('exited and never-connected sessions without a client are swept after the retention time, running ones never', async () => {
    const store = new PtyStore(1000)
    const exited = store.create({ command: 'true' })
    const running = store.create({ command: 'sleep 100' })
    const fresh = store.create()
    exited.start('pipe')
    running.start('pipe')
    await until(() => exited.exitCode !== null)
    expect(store.sweep(Date.now())).toBe(0)
    expect(store.sweep(Date.now() + 5000)).toBe(2)
    expect(() => store.get(exited.id)).toThrow()
    expect(() => store.get(fresh.id)).toThrow()
    expect(store.get(running.id)).toBe(running)
    await store.closeAll()
    expect(running.running).toBe(false)
  })
})
