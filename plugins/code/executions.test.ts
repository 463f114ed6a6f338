import { expect, test } from 'bun:test'
import type { CodeContext } from './context'
import { ExecutionStore } from './executions'

/**
 * A context that runs each cell at once and says nothing, then the run's `after` (the
 * execution's completion), as CodeContext.run does: only the store is looked at.
 */
const context = {
  id: 'ctx',
  pending: 0,
  stateLost: false,
  enqueue: (turn: () => Promise<void>) => turn(),
  run: async (_code: string, _emit: unknown, after?: () => Promise<unknown> | undefined) => {
    await after?.()
  },
} as unknown as CodeContext

test("finished executions are kept 15 minutes on the store's clock (execd's awake time), then forgotten", async () => {
  let clock = 1_000
  const store = new ExecutionStore(() => clock)
  const first = store.start(context, '1')
  await first.done
  clock += 14 * 60_000
  await store.start(context, '2').done
  expect(store.get(first.id).id).toBe(first.id)
  // A stop of execd does not move its awake clock: only time it ran forgets an execution.
  clock += 2 * 60_000
  await store.start(context, '3').done
  expect(() => store.get(first.id)).toThrow(`execution ${first.id} not found`)
})

test('the newest 128 finished executions are kept through many cells, every older one forgotten', async () => {
  const store = new ExecutionStore(() => 1_000)
  const ids: string[] = []
  for (let i = 0; i < 1_000; i++) {
    const exec = store.start(context, String(i))
    await exec.done
    ids.push(exec.id)
  }
  // This context finishes a cell within its start, before the start forgets what passed the count.
  ids.push(store.start(context, 'last').id)
  const kept = ids.filter(id => {
    try {
      return store.get(id).id === id
    } catch {
      return false
    }
  })
  expect(kept).toEqual(ids.slice(-128))
})

test("a bash cell's journal holds 1 MiB, as a command's; the other languages' keep 4 MiB for their values", async () => {
  const held: Record<string, number> = {}
  for (const language of ['bash', 'python']) {
    let look!: () => void
    const looked = new Promise<void>(r => (look = r))
    let emitted!: () => void
    const flooded = new Promise<void>(r => (emitted = r))
    const ctx = {
      ...context,
      language,
      // 6 MiB of output with no reader attached: the journal drops its oldest past its bound.
      run: async (_code: string, emit: (e: unknown) => unknown, after?: () => Promise<unknown> | undefined) => {
        for (let i = 0; i < 96; i++) await emit({ type: 'stdout', text: 'x'.repeat(64 * 1024), timestamp: 1 })
        emitted()
        await looked
        await after?.()
      },
    } as unknown as CodeContext
    const exec = new ExecutionStore(() => 1_000).start(ctx, 'flood')
    await flooded
    held[language] = exec.journal.retainedBytes
    look()
    await exec.done
  }
  expect(held.bash).toBeLessThanOrEqual(1024 * 1024)
  expect(held.python).toBeGreaterThan(3 * 1024 * 1024)
})
