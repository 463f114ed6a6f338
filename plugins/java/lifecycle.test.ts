import { afterAll, describe, expect, test } from 'bun:test'
import type { CellAssembler } from '../../core/cell-assembler'
import type { ExecEvent } from '../../core/events'
import { groupAlive } from '../../core/process-groups'
import type { RuntimeContext } from '../../core/plugin'
import { java } from '.'
import { resolveConfig } from '../../core/config'
import { errorOf, noJdk, removeTempDirs, resultOf, runCell, startCell, startJava } from './test-context'

afterAll(removeTempDirs)

const pidOf = async (ctx: RuntimeContext) => Number(resultOf(await runCell(ctx, 'ProcessHandle.current().pid()'))?.text)

describe.skipIf(!!noJdk)(`java context lifecycle${noJdk ? ` (skipped: ${noJdk})` : ''}`, () => {
  test('an interrupt stops a busy loop and a sleep, and keeps the state', async () => {
    const ctx = await startJava()
    try {
      await runCell(ctx, 'String kept = "still here";')
      for (const code of [
        'long n = 0; while (true) { n++; }',
        'System.out.println("waiting"); Thread.sleep(30000); "not reached"',
      ]) {
        const running = startCell(ctx, code)
        // The busy loop prints nothing: it gets a while to be running.
        await (code.includes('waiting') ? running.output : Bun.sleep(500))
        await ctx.interrupt()
        const events = await running.events
        expect(errorOf(events)?.ename).toBe('EvaluationInterruptedException')
        expect(errorOf(events)?.evalue).toStartWith("Evaluator was interrupted while executing: '")
        expect(errorOf(events)?.traceback.at(-1)).toBe('Evaluation interrupted.')
        expect(resultOf(events)).toBeUndefined()
      }
      expect(ctx.alive).toBe(true)
      expect(resultOf(await runCell(ctx, 'kept'))?.text).toBe('"still here"')
    } finally {
      await ctx.close()
    }
  })

  test('an interrupt while the cell is writing output stops the cell, and the context keeps its state', async () => {
    // The stop interrupts the cell's thread; one caught in the middle of a write closed the
    // helper's channel, and the context then answered as a dead interpreter. And JDK 17's stop
    // (Thread.stop) landing inside the hand-over of a line to the channel's writer thread left
    // the writer asleep: the cell's end was never sent, the grace ended the JVM (state lost) —
    // about one stop in a hundred. The grace here is long: every stop must land on its own.
    const ctx = await startJava(undefined, { 'java-interrupt-grace': '10000' })
    try {
      const pid = await pidOf(ctx)
      await runCell(ctx, 'int landed = 0;')
      for (let round = 1; round <= 5; round++) {
        const running = startCell(ctx, 'for (long i = 0; ; i++) System.out.println("line " + i);')
        await running.output
        await ctx.interrupt()
        const error = errorOf(await running.events)
        expect(error?.ename).toBe('EvaluationInterruptedException')
        expect(error?.evalue).toStartWith("Evaluator was interrupted while executing: '")
        expect(ctx.alive).toBe(true)
        expect(resultOf(await runCell(ctx, '++landed'))?.text).toBe(String(round))
      }
      expect(await pidOf(ctx)).toBe(pid)
    } finally {
      await ctx.close()
    }
  })

  test('an interrupt lands while the reader lags behind a flood, and the state stays', async () => {
    // The cell's end comes behind its output: with the reader taking none, backpressure held it
    // back until the grace ended the JVM (state lost). A stop now drops what the reader has no
    // room for.
    const ctx = await startJava(undefined, { 'java-interrupt-grace': '10000' })
    try {
      await runCell(ctx, 'int kept = 7;')
      const cell = ctx.run('for (long i = 0; ; i++) System.out.println("line " + i);')[Symbol.asyncIterator]()
      expect((await cell.next()).value?.type).toBe('stdout')
      // The reader takes nothing more: wait until the queue holds the channel's pump.
      const cells = (ctx as unknown as { cells: CellAssembler }).cells
      while (!cells.running?.isHeld) await Bun.sleep(10)
      await ctx.interrupt()
      expect(ctx.alive).toBe(true)
      const rest: ExecEvent[] = []
      for (let r = await cell.next(); !r.done; r = await cell.next()) rest.push(r.value)
      expect(errorOf(rest)?.ename).toBe('EvaluationInterruptedException')
      expect(resultOf(await runCell(ctx, 'kept'))?.text).toBe('7')
    } finally {
      await ctx.close()
    }
  })

  test('a cell that swallows the stop is killed after the grace period, state lost', async () => {
    const ctx = await startJava(undefined, { 'java-interrupt-grace': '500' })
    try {
      const pid = await pidOf(ctx)
      // Its line says it runs: a stop that lands while a loaded machine still compiles it (500 ms
      // were not always enough) is not swallowed, and the cell ends with its state kept.
      const running = startCell(
        ctx,
        'System.out.println("in"); while (true) { try { Thread.sleep(100000); } catch (Throwable t) { } }',
      )
      await running.output
      await Bun.sleep(100)
      await ctx.interrupt()
      const error = errorOf(await running.events)
      expect(error?.ename).toBe('EvaluationInterruptedException')
      expect(error?.evalue).toContain('state lost')
      expect(ctx.alive).toBe(false)
      expect(groupAlive(pid)).toBe(false)
    } finally {
      await ctx.close()
    }
  })

  test('System.exit ends the cell with an error naming the exit status', async () => {
    const ctx = await startJava()
    const events = await runCell(ctx, 'System.out.println("bye"); System.exit(3)')
    expect(
      events
        .filter(e => e.type === 'stdout')
        .map(e => e.text)
        .join(''),
    ).toBe('bye\n')
    expect(errorOf(events)).toMatchObject({ ename: 'DeadKernelError', traceback: ['exit status 3'] })
    expect(ctx.alive).toBe(false)
    expect(errorOf(await runCell(ctx, '1'))?.evalue).toContain('state is lost')
    await ctx.close()
  })

  test('SIGKILL of the JVM mid-cell is reported as killed', async () => {
    const ctx = await startJava()
    const pid = await pidOf(ctx)
    const running = runCell(ctx, 'Thread.sleep(30000)')
    await Bun.sleep(300)
    process.kill(pid, 'SIGKILL')
    const error = errorOf(await running)
    expect(error?.ename).toBe('DeadKernelError')
    expect(error?.traceback).toEqual(['signal: killed'])
    expect(ctx.alive).toBe(false)
    await ctx.close()
  })

  test('a cell sent just as the JVM dies ends with the death, not a crash of execd', async () => {
    const ctx = await startJava()
    const pid = await pidOf(ctx)
    process.kill(pid, 'SIGKILL')
    const error = errorOf(await runCell(ctx, '1 + 1'))
    expect(error?.ename).toBe('DeadKernelError')
    expect(ctx.alive).toBe(false)
    await ctx.close()
  })

  test('close kills the JVM and the processes it started', async () => {
    const ctx = await startJava()
    const pid = await pidOf(ctx)
    await runCell(ctx, 'new ProcessBuilder("sleep", "300").start()')
    await ctx.close()
    await ctx.close()
    expect(ctx.alive).toBe(false)
    expect(groupAlive(pid)).toBe(false)
  })
})

test('java is reported unavailable with a reason when jshell is missing', async () => {
  const config = resolveConfig(java.options ?? [], { jshell: '/nonexistent/jshell' })
  const [info] = await java.languages(config)
  expect(info).toMatchObject({ language: 'java', available: false })
  expect(info?.detail).toContain('/nonexistent/jshell not found')
})

test.skipIf(!!noJdk)('java is reported available with the JDK version', async () => {
  const [info] = await java.languages(resolveConfig(java.options ?? [], {}))
  expect(info).toMatchObject({ language: 'java', available: true })
  expect(info?.detail).toContain('JDK')
})
