/**
 * Instructions of a warm cell's `ExecutionStore.start` and of the id it makes, in plain bun:
 * callgrind counts the whole process twice, with `few` and with `many` calls, and the difference
 * over their count is one call's (the loop's own few instructions included). The daemon's count
 * per cell moves ±10–20k with its JIT's timing, so a change of ~1k is measured here (round 21).
 *
 *   bun run bench/execution-start.ts [many=21000] [few=1000]
 *   (each side once under valgrind; `BENCH_ONE=<what> <n>` is one side, run by the parent)
 *   BENCH_WHAT=chain,start               only these
 *   BUN_JSC_useConcurrentJIT=0 BUN_JSC_useConcurrentGC=0 … 31000 11000   steadier: under
 *       valgrind JSC's compiler and collector threads share one lock with the main thread, and
 *       when their work lands moved the main thread's count by ±2–3k at the machine's load
 *       (round 22: one tree 16,423 to 20,936 over five runs, with the JIT alone on the main
 *       thread too). With both there, compiles and collections come at the same calls each run;
 *       those between the two counts are in the difference, alike for two trees of one shape.
 *
 * What: `randomUUID` (`crypto.randomUUID().replaceAll('-', '')`, the old id), `uuidHex` (the
 * new one), `start` (the store's start, its turn and its finish, with a context whose interpreter
 * answers nothing: every cell's own bookkeeping, not the interpreter's), `chain` (the same with a
 * real CodeContext — its queue, its run, the forward of each event — and an interpreter that
 * answers a cell's execution_count and result at once: the promise chain of a warm cell, round 22).
 */
import { ExecutionStore } from '../plugins/code/executions'
import { CodeContext } from '../plugins/code/context'
import { makeEvent } from '../core/events'
import type { Runtime, RuntimeContext } from '../core/plugin'
import type { Config } from '../core/config'
import { createLogger } from '../core/log'
import { uuidHex } from '../core/random'
import { perCall } from './lib/callgrind-loop'

/** A context as the store sees it: idle, its queue's turn started at once, no interpreter. */
function quietContext(): CodeContext {
  let pending = 0
  return {
    id: 'ctx',
    language: 'python',
    stateLost: false,
    get pending() {
      return pending
    },
    enqueue(turn: () => Promise<void>) {
      pending++
      return turn().then(() => void pending--)
    },
    // Nothing run, then the execution's completion, as CodeContext.run ends with it.
    run: async (_code: string, _emit: unknown, after?: () => Promise<unknown> | undefined) => {
      await after?.()
    },
  } as unknown as CodeContext
}

/**
 * A real context over an interpreter that answers a cell at once, as python's `runInto` does
 * when the cell's messages have arrived: execution_count and result, then its end.
 */
async function answeringContext(): Promise<CodeContext> {
  let n = 0
  const live: RuntimeContext = {
    alive: true,
    run: () => {
      throw new Error('runInto only')
    },
    async runInto(_code, emit) {
      const count = emit(makeEvent('execution_count', { execution_count: ++n }))
      if (count) await count
      const result = emit(makeEvent('result', { results: { 'text/plain': '2' } }))
      if (result) await result
    },
    interrupt: async () => {},
    close: async () => {},
  }
  const runtime = { name: 'bench', languages: async () => [], start: async () => live } as Runtime
  const host = { config: {} as Config, log: createLogger('silent'), release: () => {}, touch: () => {} }
  const ctx = new CodeContext('python', '/', runtime, host)
  await ctx.start()
  return ctx
}

async function one(what: string, n: number): Promise<void> {
  let keep = 0
  if (what === 'start' || what === 'chain') {
    const store = new ExecutionStore()
    const ctx = what === 'chain' ? await answeringContext() : quietContext()
    // Each cell read to its end, as a client does, before the next (the context is idle).
    for (let i = 0; i < n; i++) {
      const exec = store.start(ctx, 'x + 1')
      await exec.done
      keep += exec.journal.lastId
    }
  } else {
    const make = what === 'uuidHex' ? uuidHex : () => crypto.randomUUID().replaceAll('-', '')
    // Each id is used as a key, as the store's map uses it (its hash computed once).
    const ids = new Map<string, number>()
    for (let i = 0; i < n; i++) {
      const id = make()
      ids.set(id, i)
      if (ids.size > 128) ids.clear()
      keep += id.length
    }
  }
  console.log(keep)
  process.exit(0)
}

if (process.env.BENCH_ONE) {
  const [what, n] = process.env.BENCH_ONE.split(' ')
  await one(what!, Number(n))
} else {
  const many = Number(process.argv[2] ?? 21_000)
  const few = Number(process.argv[3] ?? 1000)
  // Taking turns, so the machine's load falls on each alike (the count itself does not move with it).
  const whats = process.env.BENCH_WHAT?.split(',') ?? ['randomUUID', 'uuidHex', 'start', 'chain']
  for (const what of whats) {
    const per = await perCall(import.meta.path, what, many, few)
    console.log(`${what.padEnd(10)} ${per.toFixed(0)} instructions a call`)
  }
}
