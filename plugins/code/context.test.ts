/** A code context's queue and its lost-state reasons, with interpreters that are plain objects. */
import { describe, expect, test } from 'bun:test'
import { resolveConfig } from '../../core/config'
import { errorEvent, lineEvent, type ExecEvent } from '../../core/events'
import { createLogger } from '../../core/log'
import type { Runtime, RuntimeContext } from '../../core/plugin'
import { CodeContext } from './context'

/**
 * Interpreters of 'toy': `die` ends the interpreter inside the cell (with or without an error
 * event), `hang` runs until interrupted (or, once `ignoreInterrupts()`, until killed);
 * anything else is echoed.
 */
function toyRuntime() {
  const started: RuntimeContext[] = []
  let ignoreInterrupts = false
  let hanging = () => {}
  /** Resolves once the next `hang` cell is running. */
  const nextHang = () => new Promise<void>(r => (hanging = r))
  const runtime: Runtime = {
    name: 'toy',
    languages: async () => [{ language: 'toy', available: true }],
    start: async () => {
      let alive = true
      let wake = () => {}
      let interrupted = false
      const ctx: RuntimeContext = {
        async *run(code) {
          if (code === 'die' || code === 'die-quietly') {
            alive = false
            if (code === 'die') yield errorEvent('Died', 'the toy died')
            return
          }
          if (code.startsWith('hang')) {
            interrupted = false
            const woken = new Promise<void>(r => (wake = r))
            hanging()
            await woken
            if (!alive) yield errorEvent('Killed', 'killed', ['Killed: killed', 'at the toy'])
            else if (interrupted) yield errorEvent('KeyboardInterrupt', '')
            return
          }
          yield lineEvent('stdout', code)
        },
        interrupt: async () => {
          interrupted = true
          if (!ignoreInterrupts) wake()
        },
        close: async () => {
          alive = false
          wake()
        },
        get alive() {
          return alive
        },
      }
      started.push(ctx)
      return ctx
    },
  }
  return { runtime, started, nextHang, ignoreInterrupts: () => (ignoreInterrupts = true) }
}

function toyContext(runtime: Runtime) {
  const host = { config: resolveConfig([], {}), log: createLogger('silent'), release: () => {}, touch: () => {} }
  return new CodeContext('toy', process.cwd(), runtime, host)
}

/** A toy runtime and a context of it, started. */
async function startedToy() {
  const toy = toyRuntime()
  const ctx = toyContext(toy.runtime)
  await ctx.start()
  return { ...toy, ctx }
}

async function collect(ctx: CodeContext, code: string): Promise<ExecEvent[]> {
  const events: ExecEvent[] = []
  await ctx.enqueue(async () => {
    await ctx.run(code, e => void events.push(e))
  })
  return events
}

const statusText = (events: ExecEvent[]) => events.find(e => e.type === 'status' && e.state_lost)?.text

describe('CodeContext', () => {
  test('turns run one at a time, in the order they were queued', async () => {
    const { ctx } = await startedToy()
    const order: string[] = []
    let finishFirst = () => {}
    const first = ctx.enqueue(async () => {
      order.push('first starts')
      await new Promise<void>(r => (finishFirst = r))
      order.push('first ends')
    })
    const second = ctx.enqueue(async () => void order.push('second'))
    expect(ctx.pending).toBe(2)
    await Bun.sleep(0)
    expect(order).toEqual(['first starts'])
    finishFirst()
    await Promise.all([first, second])
    expect(order).toEqual(['first starts', 'first ends', 'second'])
    expect(ctx.pending).toBe(0)
  })

  test("an idle context starts a turn in the caller's tick; a busy one after the turns before it", async () => {
    const { ctx } = await startedToy()
    const order: string[] = []
    let finishFirst = () => {}
    const first = ctx.enqueue(async () => {
      order.push('first')
      await new Promise<void>(r => (finishFirst = r))
    })
    const second = ctx.enqueue(async () => void order.push('second'))
    expect(order).toEqual(['first'])
    finishFirst()
    await Promise.all([first, second])
    void ctx.enqueue(async () => void order.push('third'))
    expect(order).toEqual(['first', 'second', 'third'])
    // A turn that throws before its first await ends its turn, not the caller.
    const thrown = ctx.enqueue((() => {
      throw new Error('at once')
    }) as () => Promise<void>)
    await thrown
    expect(ctx.pending).toBe(0)
  })

  test('an interpreter that dies in a cell: DeadKernelError, then the next run says the state was lost', async () => {
    const { ctx, started } = await startedToy()
    expect((await collect(ctx, 'die-quietly')).map(e => e.error?.ename)).toEqual(['DeadKernelError'])
    expect(ctx.stateLost).toBe(true)
    const next = await collect(ctx, 'hello')
    expect(statusText(next)).toBe(
      'state_lost: the interpreter died during the previous execution; this execution runs in a fresh toy interpreter',
    )
    expect(next.at(-1)?.text).toBe('hello')
    expect(started.length).toBe(2)
    expect(ctx.stateLost).toBe(false)
  })

  test('a death that names its own error is not reported twice', async () => {
    const { ctx } = await startedToy()
    expect((await collect(ctx, 'die')).map(e => e.error?.ename)).toEqual(['Died'])
  })

  test('an interpreter gone between executions is replaced, and the state loss said', async () => {
    const { ctx, started } = await startedToy()
    await started[0]?.close()
    expect(ctx.stateLost).toBe(true)
    expect(statusText(await collect(ctx, 'hello'))).toStartWith('state_lost: the previous interpreter is gone;')
  })

  test('an interrupted cell keeps the interpreter and its state', async () => {
    const { ctx, started, nextHang } = await startedToy()
    const hanging = nextHang()
    const events = collect(ctx, 'hang')
    await hanging
    await ctx.interrupt(1000)
    expect((await events).map(e => e.error?.ename)).toEqual(['KeyboardInterrupt'])
    expect(ctx.stateLost).toBe(false)
    expect(statusText(await collect(ctx, 'hello'))).toBeUndefined()
    expect(started.length).toBe(1)
  })

  test('a cell that ignores an interrupt is killed with its interpreter; the next run says why', async () => {
    const { ctx, started, nextHang, ignoreInterrupts } = await startedToy()
    ignoreInterrupts()
    const hanging = nextHang()
    const events = collect(ctx, 'hang')
    await hanging
    await ctx.interrupt(20)
    const error = (await events).find(e => e.type === 'error')?.error
    expect(error?.ename).toBe('KeyboardInterrupt')
    expect(error?.traceback).toEqual([error!.evalue, 'at the toy'])
    expect(statusText(await collect(ctx, 'hello'))).toStartWith(
      'state_lost: the cell ignored an interrupt for 20 ms and its interpreter was killed;',
    )
    expect(started.length).toBe(2)
  })

  test('an interrupt while a fresh interpreter starts stops the cell waiting for it: its code never runs', async () => {
    const toy = toyRuntime()
    let up = () => {}
    // The replacement after a death starts only when told: the interrupt comes meanwhile.
    const runtime: Runtime = {
      ...toy.runtime,
      start: async opts => {
        if (toy.started.length) await new Promise<void>(r => (up = r))
        return toy.runtime.start(opts)
      },
    }
    const ctx = toyContext(runtime)
    await ctx.start()
    await collect(ctx, 'die')
    const events = collect(ctx, 'printed')
    let answered = false
    const stopped = ctx.interrupt(1000).then(() => (answered = true))
    await Bun.sleep(10)
    // It answers once the cell has ended, not while the interpreter is still starting.
    expect(answered).toBe(false)
    up()
    await stopped
    const cell = await events
    expect(cell.map(e => e.type)).toEqual(['status', 'error'])
    expect(statusText(cell)).toStartWith('state_lost: the interpreter died during the previous execution;')
    expect(cell.find(e => e.type === 'error')?.error?.evalue).toBe('interrupted before it ran')
    // The fresh interpreter is kept, and runs the next cell.
    expect((await collect(ctx, 'next')).map(e => e.text)).toEqual(['next'])
    expect(toy.started.length).toBe(2)
  })

  test('a closed context runs nothing and gives its slot back once', async () => {
    const { runtime } = toyRuntime()
    let released = 0
    const host = {
      config: resolveConfig([], {}),
      log: createLogger('silent'),
      release: () => void released++,
      touch: () => {},
    }
    const ctx = new CodeContext('toy', process.cwd(), runtime, host)
    await ctx.start()
    await ctx.close()
    await ctx.close()
    expect(ctx.closed).toBe(true)
    expect(released).toBe(1)
    const events = await collect(ctx, 'hello')
    expect(events.map(e => e.error?.evalue)).toEqual([`context ${ctx.id} was deleted`])
  })

  test("a run's `after` (the execution's completion) comes once, after the cell's last event, however it ended", async () => {
    const { ctx } = await startedToy()
    const seen: string[] = []
    const emit = (e: ExecEvent) => void seen.push(e.type === 'error' ? `error ${e.error?.ename}` : e.type)
    const after = () => void seen.push('after')
    await ctx.run('hello', emit, after)
    await ctx.run('die', emit, after)
    // Its promise is the run's: the run settles once it has.
    let settled = false
    await ctx.run('again', emit, () => new Promise<void>(r => setTimeout(r, 5)).then(() => void (settled = true)))
    expect(settled).toBe(true)
    // An emit that throws (a journal ended under it) still ends with `after`, and the run rejects.
    const throwing = () => {
      throw new Error('journal has ended')
    }
    await expect(ctx.run('x', throwing, after)).rejects.toThrow('journal has ended')
    await ctx.close()
    await ctx.run('late', emit, after)
    expect(seen).toEqual([
      'stdout',
      'after',
      'error Died',
      'after',
      'status',
      'stdout',
      'after',
      'error RuntimeError',
      'after',
    ])
  })
})
