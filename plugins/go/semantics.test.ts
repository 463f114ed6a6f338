/** What a go cell means (gonb's model), with the real toolchain: one context, cell after cell. */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { RuntimeContext } from '../../core/plugin'
import { errorOf, GO_TEST_TIMEOUT_MS, noGo, removeTempDirs, resultOf, runCell, startGo, textOf } from './test-context'

setDefaultTimeout(GO_TEST_TIMEOUT_MS)

describe.skipIf(!!noGo)(`go cells${noGo ? ` (skipped: ${noGo})` : ''}`, () => {
  let ctx: RuntimeContext
  beforeAll(async () => {
    ctx = await startGo()
  })
  afterAll(async () => {
    await ctx?.close()
    removeTempDirs()
  })

  test('a whole program runs its main', async () => {
    const events = await runCell(ctx, 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("whole", 1+1)\n}\n')
    expect(errorOf(events)).toBeUndefined()
    expect(textOf(events, 'stdout')).toBe('whole 2\n')
    expect(resultOf(events)).toBeUndefined()
  })

  test('declarations and statements mix; the last expression is the result', async () => {
    const events = await runCell(
      ctx,
      'import "strings"\n\ntype Pair struct{ A, B int }\n\nfunc (p Pair) Sum() int { return p.A + p.B }\n\nvar base = 40\n\np := Pair{1, 1}\nfmt.Println("sum", p.Sum())\nbase + p.Sum()',
    )
    expect(errorOf(events)).toBeUndefined()
    expect(textOf(events, 'stdout')).toBe('sum 2\n')
    expect(resultOf(events)).toEqual({ 'text/plain': '42', text: '42' })
  })

  test('imports, functions, types, methods and variables persist; statements do not run again', async () => {
    const events = await runCell(ctx, 'strings.ToUpper("go") + fmt.Sprint(Pair{2, 3}.Sum()+base)')
    expect(errorOf(events)).toBeUndefined()
    expect(textOf(events, 'stdout')).toBe('')
    expect(resultOf(events)?.['text/plain']).toBe('GO45')
  })

  test('a well-known standard package is imported when used without an import, and stays', async () => {
    const events = await runCell(ctx, 'strconv.Itoa(7) + strings.Repeat("!", 2)')
    expect(errorOf(events)).toBeUndefined()
    expect(resultOf(events)?.['text/plain']).toBe('7!!')
    expect(resultOf(await runCell(ctx, 'strconv.Quote("q")'))?.['text/plain']).toBe('"q"')
  })

  test('a later definition replaces the earlier one of the same name', async () => {
    await runCell(ctx, 'func greet() string { return "hello" }')
    await runCell(ctx, 'func greet() string { return "bonjour" }')
    expect(resultOf(await runCell(ctx, 'greet()'))?.['text/plain']).toBe('bonjour')
  })

  test("%% separates declarations from main's statements, and passes its arguments", async () => {
    const events = await runCell(
      ctx,
      'import "os"\n\nconst greeting = "hi"\n\n%% one two\nfmt.Println(greeting, os.Args[1:])',
    )
    expect(errorOf(events)).toBeUndefined()
    expect(textOf(events, 'stdout')).toBe('hi [one two]\n')
  })

  test('a value declared in the cell and named last is the result', async () => {
    for (const code of ['a1 := 2 + 2\na1', 'a2 := 2 + 2; a2', 'var v1 = 4\nv1', 'v2 := 4\n(v2)'])
      expect(resultOf(await runCell(ctx, code))?.['text/plain']).toBe('4')
  })

  test('every statement form runs: for clauses left empty, init statements, func literals, labels', async () => {
    const cells: [string, string][] = [
      [
        'for i := 0; ; i++ {\n\tif i > 1 {\n\t\tbreak\n\t}\n}\n"three-clause, no condition"',
        'three-clause, no condition',
      ],
      ['for ; ; {\n\tbreak\n}\n"all empty"', 'all empty'],
      ['k := 0\nfor ; k < 2; {\n\tk++\n}\nk', '2'],
      ['for {\n\tbreak\n}\n"infinite"', 'infinite'],
      ['for range []int{1, 2} {\n}\n"range"', 'range'],
      ['outer:\nfor i := 0; i < 3; i++ {\n\tfor {\n\t\tcontinue outer\n\t}\n}\n"labels"', 'labels'],
      ['var lim = 2; for i := 0; ; i++ { if i > lim { break } }\nlim', '2'],
      ['if n := len("ab"); n > 1 {\n\tn++\n}\n"if with init"', 'if with init'],
      ['switch s := 2; s {\ncase 2:\n}\nswitch ; {\n}\n"switch"', 'switch'],
      ['ch := make(chan int, 1)\nch <- 5\nselect {\ncase v := <-ch:\n\t_ = v\n}\n"select"', 'select'],
      ['func() string { return "literal called" }()', 'literal called'],
      ['for i := 0; func() bool { return i < 1 }(); i++ {\n}\n"literal in a clause"', 'literal in a clause'],
      ['func Twice[T any](v T) []T { return []T{v, v} }\nlen(Twice("g"))', '2'],
      ['x := 1;;\nx', '1'],
    ]
    for (const [code, shown] of cells) {
      const events = await runCell(ctx, code)
      expect({ code, error: errorOf(events)?.evalue }).toEqual({ code, error: undefined })
      expect(resultOf(events)?.['text/plain']).toBe(shown)
    }
  })

  test('a last statement under a label (the target of a goto) shows its value', async () => {
    const cells: [string, string][] = [
      ['n := 1\nif n > 0 {\n\tgoto end\n}\nn = 2\nend:\n"x"', 'x'],
      ['m := 3\ngoto last\nlast:\nm * 2', '6'],
      ['goto c\nc: len("four")', '4'],
      ['if false {\n\tgoto a\n}\ngoto b\na:\nb:\n"two labels"', 'two labels'],
    ]
    for (const [code, shown] of cells) {
      const events = await runCell(ctx, code)
      expect({ code, error: errorOf(events)?.evalue }).toEqual({ code, error: undefined })
      expect(resultOf(events)?.['text/plain']).toBe(shown)
    }
  })

  test('braces and %% inside strings and comments are text', async () => {
    const code = 's := `{\n%%\n}` + "}{"\n// a comment { with a brace\n/* }\n%%\n*/\nlen(s)'
    const events = await runCell(ctx, code)
    expect(errorOf(events)).toBeUndefined()
    expect(resultOf(events)?.['text/plain']).toBe('8')
  })

  test('fmt.Println and calls returning nothing give no result; a call with one value does', async () => {
    expect(resultOf(await runCell(ctx, 'fmt.Println("x")'))).toBeUndefined()
    expect(resultOf(await runCell(ctx, 'func nothing() {}\nnothing()'))).toBeUndefined()
    expect(resultOf(await runCell(ctx, 'len("four")'))?.['text/plain']).toBe('4')
  })

  test('unused imports and variables do not break a cell', async () => {
    const events = await runCell(
      ctx,
      'import (\n\t"sort"\n\t"net/url"\n)\n\nunused := 3\nfor i, v := range []int{7} { w := i }\n"ok"',
    )
    expect(errorOf(events)).toBeUndefined()
    expect(resultOf(events)?.['text/plain']).toBe('ok')
  })

  // Its own context: once imported, "C" makes every later cell of it a cgo build.
  test.skipIf(!Bun.which('gcc'))(
    'an unused import "C" stays as it is: the cell is a cgo build',
    async () => {
      const other = await startGo()
      try {
        const events = await runCell(other, 'import "C"\n\n"cgo"')
        expect(errorOf(events)).toBeUndefined()
        expect(resultOf(events)?.['text/plain']).toBe('cgo')
      } finally {
        await other.close()
      }
    },
    120_000,
  )

  test('%reset forgets every declaration', async () => {
    const other = await startGo()
    try {
      await runCell(other, 'var forgotten = 1')
      expect(await runCell(other, '%reset')).toEqual([expect.objectContaining({ type: 'execution_count' })])
      expect(errorOf(await runCell(other, 'forgotten'))?.evalue).toContain('undefined: forgotten')
    } finally {
      await other.close()
    }
  })

  test("a compile error names the user's cell line and column, and keeps nothing of the cell", async () => {
    const events = await runCell(ctx, 'func kept() int { return 1 }\n\nx := 1\ny := x + undefinedName\nfmt.Println(y)')
    const error = errorOf(events)
    expect(error?.ename).toBe('CompilationError')
    expect(error?.evalue).toMatch(/^cell\d+:4:10: undefined: undefinedName$/)
    const after = await runCell(ctx, 'kept()')
    expect(errorOf(after)?.evalue).toContain('undefined: kept')
  })

  test('a panic is an error event with the panic value and its stack at the cell line', async () => {
    const events = await runCell(ctx, 'fmt.Println("before")\nvar s []int\n_ = s[3]')
    expect(textOf(events, 'stdout')).toBe('before\n')
    const error = errorOf(events)
    expect(error?.ename).toBe('panic')
    expect(error?.evalue).toBe('runtime error: index out of range [3] with length 0')
    expect(error?.traceback[0]).toBe('panic: runtime error: index out of range [3] with length 0')
    expect(error?.traceback.join('\n')).toMatch(/main\.main\(\)\n\tcell\d+:3 /)
  })

  test('a panic in another goroutine and a deadlock are named from what the runtime printed', async () => {
    const panicked = errorOf(await runCell(ctx, 'go func() { panic("elsewhere") }()\ntime.Sleep(time.Minute)'))
    expect(panicked).toMatchObject({ ename: 'panic', evalue: 'elsewhere' })
    expect(panicked?.traceback.join('\n')).toMatch(/main\.main\.func1\(\)\n\tcell\d+:1 /)
    const deadlock = errorOf(await runCell(ctx, 'ch := make(chan int)\n<-ch'))
    expect(deadlock).toMatchObject({ ename: 'fatal error', evalue: 'all goroutines are asleep - deadlock!' })
  })

  test('an import that cannot be had offline is a compile error at its line', async () => {
    const error = errorOf(await runCell(ctx, 'import "github.com/nobody/nothing"\n\nnothing.X()'))
    expect(error?.ename).toBe('CompilationError')
    expect(error?.evalue).toMatch(/^cell\d+:1:8: cannot find module providing package github.com\/nobody\/nothing/)
  })

  test('a non-zero exit is an error event; stderr streams', async () => {
    const events = await runCell(ctx, 'fmt.Fprintln(os.Stderr, "bad")\nos.Exit(3)')
    expect(textOf(events, 'stderr')).toBe('bad\n')
    expect(errorOf(events)).toMatchObject({ ename: 'ExitError', evalue: 'exit status 3' })
  })
})
