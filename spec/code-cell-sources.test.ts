/**
 * A context that lives for thousands of cells keeps their code for its tracebacks' lines: a
 * python context kept every cell's source for the interpreter's whole life (linecache), a
 * javascript context its newest 200 cells' scripts however large. Both keep the newest cells'
 * up to 16 Mi characters now (cells.py `_SOURCE_CHARS_KEPT`, driver-cell.ts `MAX_KEPT_CHARS`).
 */
import { describe, expect, test } from 'bun:test'
import { pythonAvailable } from './python-env'
import { daemonWithContext, ofType, resultText, runCode, type WireEvent } from './runtime-kit'

/** The cells' sources linecache holds: how many, and their characters together. */
const HELD = [
  'import linecache',
  "_held = [e for k, e in linecache.cache.items() if k.startswith('<cell-')]",
  '(len(_held), sum(e[0] for e in _held))',
].join('\n')

const heldOf = (events: Record<string, any>[]): [number, number] =>
  JSON.parse(resultText(events)[0]!.replace('(', '[').replace(')', ']'))

describe.skipIf(pythonAvailable !== true)('a python context of many cells', () => {
  const fx = daemonWithContext('python')
  const run = (code: string) => runCode(fx.d, code, { id: fx.id, language: 'python' })

  test('keeps 16 MiB of its newest cells sources at most, and the newest in its tracebacks', async () => {
    const mib = '#'.repeat(1024 * 1024)
    for (let i = 0; i < 24; i++) expect(ofType(await run(`${mib}\nv${i} = ${i}`), 'error')).toEqual([])
    const [cells, chars] = heldOf(await run(HELD))
    // main's build: all 25 cells, 24 MiB and more.
    expect(chars).toBeLessThanOrEqual(16 * 1024 * 1024 + 1024)
    expect(cells).toBeLessThan(20)
    const failed = await run('def boom():\n    raise ValueError("the newest cell")\nboom()')
    const traceback = ofType(failed, 'error')[0]!.error.traceback.join('\n')
    expect(traceback).toContain('raise ValueError("the newest cell")')
  })

  test('keeps the sources of its newest 1,000 cells at most', async () => {
    for (let i = 0; i < 1010; i++) await run(`w = ${i}`)
    const [cells] = heldOf(await run(HELD))
    expect(cells).toBeLessThanOrEqual(1000)
    expect(resultText(await run('w'))).toEqual(['1009'])
  })
})

/** The traceback of the cell's error, one line a frame or code line. */
const tracebackOf = (events: WireEvent[]): string[] => ofType(events, 'error')[0]!.error.traceback

describe('a javascript context of many large cells', () => {
  const fx = daemonWithContext('javascript')
  const run = (code: string) => runCode(fx.d, code, { id: fx.id, language: 'javascript' })

  test('keeps 16 MiB of its newest cells scripts: an older cell frame has no code line', async () => {
    await run('function first() {\n  throw new Error("from the first cell")\n}')
    const mib = 'x'.repeat(1024 * 1024)
    for (let i = 0; i < 20; i++) expect(ofType(await run(`var big${i % 3} = "${mib}"`), 'error')).toEqual([])
    // main's build: 200 cells kept whatever their size, the line under `at first (<cell 1>)`.
    expect(tracebackOf(await run('first()'))).not.toContain('        throw new Error("from the first cell");')
    const newest = tracebackOf(await run('function newest() {\n  throw new Error("newest")\n}\nnewest()'))
    expect(newest).toContain('        throw new Error("newest");')
  })
})
