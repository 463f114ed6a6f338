import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RuntimeContext } from '../../core/plugin'
import { javascript } from '.'
import { pairAcrossPieces } from '../../spec/kit/pieces-cell'
import { removeTempFiles, errorOf, resultOf, runCell, startJs, tempDir, textOf } from './test-context'

afterAll(removeTempFiles)

describe('javascript cells', () => {
  let ctx: RuntimeContext
  let cwd: string
  beforeAll(async () => {
    cwd = tempDir()
    const pkg = join(cwd, 'node_modules', 'greeting')
    mkdirSync(pkg, { recursive: true })
    writeFileSync(join(pkg, 'package.json'), '{"name":"greeting","type":"module","main":"index.js"}')
    writeFileSync(join(pkg, 'index.js'), 'export const hello = name => `hello ${name}`\nexport default 7\n')
    writeFileSync(join(cwd, 'local.mjs'), 'export const answer = 42\n')
    ctx = await startJs('javascript', cwd)
  })
  afterAll(() => ctx.close())

  test('a declaration shows no value and persists into the next cell', async () => {
    const first = await runCell(ctx, 'let x = 41')
    expect(resultOf(first)).toBeUndefined()
    const second = await runCell(ctx, 'x + 1')
    expect(resultOf(second)).toEqual({ 'text/plain': '42', text: '42' })
  })

  test('a cell sent in pieces arrives as written: escapes, quotes, a surrogate pair across a boundary', async () => {
    const text = 'a"\\\n\u00e9\ud83d\ude00'.repeat(60_000)
    const tail = "\nconsole.log(big.length, require('node:crypto').createHash('sha256').update(big).digest('hex'))"
    const events = await runCell(ctx, pairAcrossPieces('const big = ', JSON.stringify(text), tail, '//'))
    const digest = new Bun.CryptoHasher('sha256').update(text).digest('hex')
    expect(textOf(events, 'stdout')).toBe(`${text.length} ${digest}\n`)
  })

  test('const, function and class declarations persist and may be declared again', async () => {
    await runCell(ctx, 'const k = 2\nfunction twice(n) { return n * k }\nclass Box { constructor(v) { this.v = v } }')
    expect(resultOf(await runCell(ctx, 'twice(new Box(5).v)'))?.['text/plain']).toBe('10')
    await runCell(ctx, 'const k = 3')
    expect(resultOf(await runCell(ctx, 'twice(1)'))?.['text/plain']).toBe('3')
  })

  test('top-level await gives the awaited value', async () => {
    const events = await runCell(ctx, 'await new Promise(r => setTimeout(() => r({ ok: true }), 10))')
    expect(resultOf(events)?.['text/plain']).toBe('{ ok: true }')
  })

  test('imports a Node built-in, a package installed under cwd and a relative module', async () => {
    await runCell(
      ctx,
      'import fs from "node:fs"\nimport greet, { hello } from "greeting"\nimport { answer } from "./local.mjs"',
    )
    const events = await runCell(
      ctx,
      '[fs.existsSync("local.mjs"), greet, hello("you"), answer, require("greeting").default]',
    )
    expect(errorOf(events)).toBeUndefined()
    expect(resultOf(events)?.['text/plain']).toBe("[ true, 7, 'hello you', 42, 7 ]")
  })

  test('a missing package is an error naming it', async () => {
    const error = errorOf(await runCell(ctx, 'import nope from "no-such-package-here"'))
    expect(error?.evalue).toContain('no-such-package-here')
  })

  test('an exception gives its name, message and the user frames of its stack', async () => {
    const events = await runCell(ctx, 'function boom() { throw new TypeError("bad input") }\nboom()')
    const error = errorOf(events)!
    expect(error.ename).toBe('TypeError')
    expect(error.evalue).toBe('bad input')
    expect(error.traceback[0]).toBe('TypeError: bad input')
    const frame = error.traceback.findIndex(l => l.includes('at boom (<cell'))
    expect(frame).toBeGreaterThan(0)
    expect(error.traceback[frame + 1]?.trim()).toBe('throw new TypeError("bad input");')
    expect(error.traceback.join('\n')).not.toContain('driver')
    expect(events.map(e => e.type)).toEqual(['execution_count', 'error'])
  })

  test('a cell run again names its own run in its frames, with its code line', async () => {
    const code = 'function twice() { throw new RangeError("again") }\ntwice()'
    await runCell(ctx, code)
    await runCell(ctx, '1')
    const events = await runCell(ctx, code)
    const count = events.find(e => e.type === 'execution_count')?.execution_count
    const traceback = errorOf(events)?.traceback ?? []
    const frame = traceback.findIndex(l => l.includes(`at twice (<cell ${count}>`))
    expect(frame).toBeGreaterThan(0)
    expect(traceback[frame + 1]?.trim()).toBe('throw new RangeError("again");')
  })

  test('whatever is thrown, the error is text: its message, an inspection, or its type', async () => {
    const cases: [string, { ename: string; evalue: string }][] = [
      ['throw { a: 1 }', { ename: 'Uncaught', evalue: '{\n  a: 1,\n}' }],
      ['const e = new Error("x"); e.message = { a: 1 }; throw e', { ename: 'Error', evalue: '{\n  a: 1,\n}' }],
      // Reading these throws: the error must still come, not a cell that looks successful.
      [
        'throw new Proxy({}, { getPrototypeOf() { throw 1 }, get() { throw 2 } })',
        { ename: 'Uncaught', evalue: 'object' },
      ],
      [
        'throw Object.defineProperty(new Error("m"), "message", { get() { throw 1 } })',
        { ename: 'Uncaught', evalue: '[object Error]' },
      ],
    ]
    for (const [code, expected] of cases) {
      const events = await runCell(ctx, code)
      expect(errorOf(events)).toMatchObject(expected)
      expect(errorOf(events)?.traceback.every(l => typeof l === 'string')).toBe(true)
    }
    expect(resultOf(await runCell(ctx, '6 * 7'))?.text).toBe('42')
  })

  test('a syntax error names the line and column', async () => {
    const error = errorOf(await runCell(ctx, 'let ok = 1\nlet = ('))!
    expect(error.ename).toBe('SyntaxError')
    expect(error.evalue).toContain('line 2')
  })

  test('execution_count increments per cell and precedes the result', async () => {
    const a = await runCell(ctx, '1')
    const b = await runCell(ctx, '2')
    const count = (events: typeof a) => events.find(e => e.type === 'execution_count')!.execution_count!
    expect(count(b)).toBe(count(a) + 1)
    expect(b.map(e => e.type)).toEqual(['execution_count', 'result'])
  })

  test('console output streams as separate events before the cell ends', async () => {
    const events = await runCell(
      ctx,
      'console.log("first"); await Bun.sleep(200); console.error("second"); void process.stdout.write("third")',
    )
    expect(events.map(e => [e.type, e.text ?? ''])).toEqual([
      ['stdout', 'first\n'],
      ['stderr', 'second\n'],
      ['stdout', 'third'],
      ['execution_count', ''],
    ])
  })

  test('output of a subprocess writing to the inherited stdout reaches the cell', async () => {
    const events = await runCell(ctx, 'Bun.spawnSync(["echo", "from a child"], { stdout: "inherit" }); null')
    expect(textOf(events, 'stdout')).toBe('from a child\n')
  })

  test('the context runs in its cwd', async () => {
    expect(resultOf(await runCell(ctx, 'process.cwd()'))?.['text/plain']).toBe(`'${cwd}'`)
  })

  test('a cell that declares and then ends with an expression shows its value', async () => {
    for (const code of [
      'const a1 = 2 + 2;\na1',
      'const a2 = 2 + 2; a2',
      'var v1 = 4;\nv1',
      'let v2 = 4;\n(v2)',
      'const v4 = 4;\nv4;',
      'let v5 = 4\nv5 // trailing comment',
    ]) {
      expect([code, resultOf(await runCell(ctx, code))?.['text/plain']]).toEqual([code, '4'])
    }
    expect(resultOf(await runCell(ctx, 'const v6 = 4;\nconst v7 = v6'))).toBeUndefined()
  })

  test('undefined shows no result, null does', async () => {
    expect(resultOf(await runCell(ctx, 'undefined'))).toBeUndefined()
    expect(resultOf(await runCell(ctx, 'null'))?.['text/plain']).toBe('null')
  })
})

describe('typescript cells', () => {
  test('type annotations, interfaces and generics are accepted and not type-checked', async () => {
    const ctx = await startJs('typescript')
    try {
      await runCell(
        ctx,
        'interface Point { x: number; y: number }\nconst p: Point = { x: 1, y: 2 }\nfunction first<T>(xs: T[]): T { return xs[0] }',
      )
      const events = await runCell(
        ctx,
        'const n: string = 5 as unknown as string\nfirst<number>([p.x + p.y, 0]) + Number(n)',
      )
      expect(errorOf(events)).toBeUndefined()
      expect(resultOf(events)?.['text/plain']).toBe('8')
    } finally {
      await ctx.close()
    }
  })

  test('a cell that declares and then ends with an expression shows its value', async () => {
    const ctx = await startJs('typescript')
    try {
      for (const code of [
        'const a1: number = 2 + 2;\na1',
        'let v2: number = 4; (v2 as number)',
        'type N = number\nconst v4: N = 4;\nv4;',
      ]) {
        expect([code, resultOf(await runCell(ctx, code))?.['text/plain']]).toEqual([code, '4'])
      }
      expect(resultOf(await runCell(ctx, 'const v5 = 4\ninterface Later { n: number }'))).toBeUndefined()
    } finally {
      await ctx.close()
    }
  })

  test('the javascript language rejects type annotations', async () => {
    const ctx = await startJs('javascript')
    try {
      expect(errorOf(await runCell(ctx, 'const n: number = 1'))?.ename).toBe('SyntaxError')
    } finally {
      await ctx.close()
    }
  })
})

test('both languages are available, run by the execd executable itself', async () => {
  const langs = await javascript.languages(undefined as never)
  expect(langs.map(l => [l.language, l.available])).toEqual([
    ['javascript', true],
    ['typescript', true],
  ])
  expect(langs[0]?.detail).toContain(Bun.version)
})

test('a cell may shadow process and require without cutting off the driver', async () => {
  const ctx = await startJs()
  try {
    await runCell(ctx, 'let process = 1\nlet require = () => 5')
    expect(resultOf(await runCell(ctx, 'process + require()'))?.['text/plain']).toBe('6')
  } finally {
    await ctx.close()
  }
})

test('a value that cannot be sent is reported as an error and the next cell still runs', async () => {
  const ctx = await startJs()
  try {
    const events = await runCell(ctx, '({ _repr_json_() { return { n: 1n } } })')
    expect(errorOf(events)?.evalue).toContain('BigInt')
    expect(resultOf(await runCell(ctx, '"alive"'))?.['text/plain']).toBe("'alive'")
  } finally {
    await ctx.close()
  }
})
