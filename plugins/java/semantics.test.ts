import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RuntimeContext } from '../../core/plugin'
import { errorOf, noJdk, removeTempDirs, resultOf, runCell, startJava, tempDir, textOf } from './test-context'

describe.skipIf(!!noJdk)(`java cells${noJdk ? ` (skipped: ${noJdk})` : ''}`, () => {
  let ctx: RuntimeContext
  let cwd: string

  beforeAll(async () => {
    cwd = tempDir()
    ctx = await startJava(cwd)
  })
  afterAll(async () => {
    await ctx?.close()
    removeTempDirs()
  })

  test('a declaration persists and an expression value is the result', async () => {
    expect(resultOf(await runCell(ctx, 'int x = 41;'))).toBeUndefined()
    const events = await runCell(ctx, 'x + 1')
    expect(resultOf(events)).toEqual({ 'text/plain': '42', text: '42' })
    expect(events.map(e => e.type)).toEqual(['execution_count', 'result'])
  })

  test('methods, classes and imports persist across cells', async () => {
    await runCell(ctx, 'record Point(int x, int y) {}\nstatic int square(int n) { return n * n; }')
    await runCell(ctx, 'import java.time.Duration;')
    const events = await runCell(ctx, 'new Point(square(3), (int) Duration.ofMinutes(1).toSeconds())')
    expect(resultOf(events)?.['text/plain']).toBe('Point[x=9, y=60]')
  })

  test('several statements run in order and only the last value is the result', async () => {
    const events = await runCell(ctx, 'int a = 1;\nint b = 2;\nSystem.out.println(a);\na + b')
    expect(textOf(events, 'stdout')).toBe('1\n')
    expect(resultOf(events)?.['text/plain']).toBe('3')
  })

  test('jshell default imports are there and strings show quoted', async () => {
    expect(resultOf(await runCell(ctx, 'List.of("a", "b").stream().collect(Collectors.joining("-"))'))?.text).toBe(
      '"a-b"',
    )
  })

  test('statements and assignments give no result', async () => {
    expect(resultOf(await runCell(ctx, 'int z = 0; z = 5'))).toBeUndefined()
    expect(resultOf(await runCell(ctx, 'System.out.println("x")'))).toBeUndefined()
  })

  test('an exception is an EvalException (as IJava names it) with message, class and the user frames', async () => {
    await runCell(ctx, 'void boom() { throw new IllegalStateException("bad state"); }')
    const events = await runCell(ctx, 'System.out.println("before"); boom()')
    expect(textOf(events, 'stdout')).toBe('before\n')
    const error = errorOf(events)
    expect(error?.ename).toBe('EvalException')
    expect(error?.evalue).toBe('bad state')
    expect(error?.traceback[0]).toBe('java.lang.IllegalStateException: bad state')
    expect(error?.traceback.some(l => /at boom \(cell\d+:1\)/.test(l))).toBe(true)
    expect(error?.traceback.some(l => l.includes('jdk.jshell'))).toBe(false)
    expect(events.map(e => e.type)).toEqual(['stdout', 'execution_count', 'error'])
  })

  test("the reference clients' case: 10 / 0 is an EvalException of / by zero", async () => {
    const error = errorOf(await runCell(ctx, 'int q = 10 / 0; // ArithmeticException'))
    expect(error).toMatchObject({ ename: 'EvalException', evalue: '/ by zero' })
    expect(error?.traceback[0]).toBe('java.lang.ArithmeticException: / by zero')
  })

  test('an exception stops the rest of the cell', async () => {
    const events = await runCell(ctx, 'int before = 1;\nInteger.parseInt("zz");\nint after = 2;')
    expect(errorOf(events)?.traceback[0]).toStartWith('java.lang.NumberFormatException: ')
    expect(errorOf(await runCell(ctx, 'after'))?.ename).toBe('CompilationException')
    expect(resultOf(await runCell(ctx, 'before'))?.text).toBe('1')
  })

  test('a compile error names the problem and points at it', async () => {
    const error = errorOf(await runCell(ctx, 'int y = "text";'))
    expect(error?.ename).toBe('CompilationException')
    expect(error?.evalue).toContain('incompatible types')
    expect(error?.traceback.slice(0, 2)).toEqual(['int y = "text";', '        ^'])
    expect(error?.traceback.some(l => l.includes('incompatible types'))).toBe(true)
  })

  test('incomplete input is an IncompleteSourceException, not a hang', async () => {
    expect(errorOf(await runCell(ctx, 'int ok = 1;\nvoid f() {\n  int y = 2;'))).toEqual({
      ename: 'IncompleteSourceException',
      evalue: 'void f() {\n  int y = 2;',
      traceback: ['Incomplete input:', 'void f() {', '  int y = 2;'],
    })
  })

  test('calling a method that uses something undeclared is an UnresolvedReferenceException', async () => {
    expect(resultOf(await runCell(ctx, 'int twice() { return helper() * 2; }'))).toBeUndefined()
    const error = errorOf(await runCell(ctx, 'twice()'))
    expect(error?.ename).toBe('UnresolvedReferenceException')
    expect(error?.evalue).toContain("'twice' cannot be invoked until this is declared")
    expect(error?.traceback).toEqual([
      'int twice() { return helper() * 2; }',
      'Unresolved dependencies:',
      '   - method helper()',
    ])
    await runCell(ctx, 'int helper() { return 21; }')
    expect(resultOf(await runCell(ctx, 'twice()'))?.text).toBe('42')
  })

  test('execution_count increments per cell', async () => {
    const first = (await runCell(ctx, '1')).find(e => e.type === 'execution_count')?.execution_count ?? 0
    const second = (await runCell(ctx, '2')).find(e => e.type === 'execution_count')?.execution_count
    expect(second).toBe(first + 1)
  })

  test('System.out and System.err stream while the cell runs', async () => {
    const code =
      'System.out.println("first"); System.err.println("warn");\n' +
      'while (!new File("go").exists()) Thread.sleep(20);\nSystem.out.println("second");'
    const seen: string[] = []
    for await (const e of ctx.run(code)) {
      if (e.type === 'stdout' || e.type === 'stderr') seen.push(`${e.type}:${e.text}`)
      // The cell waits for this file: the first line arrived before the cell could finish.
      if (e.text === 'first\n') writeFileSync(join(cwd, 'go'), '')
    }
    expect(seen).toEqual(['stdout:first\n', 'stderr:warn\n', 'stdout:second\n'])
  })

  test('output of child processes on the JVM fds is streamed too', async () => {
    const events = await runCell(ctx, 'new ProcessBuilder("sh", "-c", "echo raw").inheritIO().start().waitFor()')
    expect(textOf(events, 'stdout')).toBe('raw\n')
    expect(resultOf(events)?.text).toBe('0')
  })

  test('the context runs in its cwd with no stdin', async () => {
    expect(resultOf(await runCell(ctx, 'System.getProperty("user.dir")'))?.text).toBe(JSON.stringify(cwd))
    expect(resultOf(await runCell(ctx, 'System.in.read()'))?.text).toBe('-1')
  })

  test('unicode survives output and values, also across socket reads', async () => {
    const events = await runCell(ctx, 'System.out.print("héllo ✓ 😀"); "ω"')
    expect(textOf(events, 'stdout')).toBe('héllo ✓ 😀')
    expect(resultOf(events)?.text).toBe('"ω"')
    const long = await runCell(ctx, 'System.out.print("✓".repeat(100000)); "é😀".repeat(100000)')
    expect(textOf(long, 'stdout')).toBe('✓'.repeat(100000))
    expect(resultOf(long)?.text).toBe(`"${'é😀'.repeat(100000)}"`)
  })
})
