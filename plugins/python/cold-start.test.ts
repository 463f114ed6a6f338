/**
 * What a cold python context pays before its first cell: the driver's imports, and its compile,
 * which the next interpreter at the same path skips (real python3, no HTTP).
 */
import { afterEach, describe, expect, test } from 'bun:test'
import type { ExecEvent } from '../../core/events'
import { available, closeStarted, PYTHON, runCell as run, startPython as start } from './test-context'

const value = (events: ExecEvent[]) => events.find(e => e.type === 'result')?.results?.['text/plain']

afterEach(closeStarted)

describe.skipIf(!available)(`python cold start (${PYTHON})`, () => {
  test('the driver loads none of json, re, socket, signal, enum, threading or types before a cell needs them', async () => {
    const ctx = await start()
    // A string, not a list: a container's value is laid out by pprint, which imports re.
    const modules = "('json', 're', 'socket', 'signal', 'enum', 'json.decoder', 'linecache', 'threading', 'types')"
    const loaded = await run(ctx, `' '.join(m for m in ${modules} if m in __import__('sys').modules)`)
    // What the interpreter's own start loaded (a pyenv python's site imports re) is not the driver's.
    const own = Bun.spawnSync([PYTHON, '-c', `import sys; print(' '.join(m for m in ${modules} if m in sys.modules))`])
    expect(value(loaded)).toBe(`'${own.stdout.toString().trim()}'`)
    // The protocol still speaks JSON where a message is not put together by hand: an error,
    // a value that is not all strings, a display of a dict.
    const error = await run(ctx, 'raise ValueError("ü")')
    expect(error.find(e => e.type === 'error')?.error).toMatchObject({ ename: 'ValueError', evalue: 'ü' })
    const shown = await run(ctx, "display({'application/json': {'a': [1, 2.5, None]}, 'text/plain': 'x'}, raw=True)")
    expect(shown.find(e => e.type === 'result')?.results?.['application/json']).toEqual({ a: [1, 2.5, null] })
    // Lines with `=` and statement keywords still take the right way.
    expect(value(await run(ctx, 'x = 1'))).toBeUndefined()
    expect(value(await run(ctx, 'x == 1'))).toBe('True')
    expect(value(await run(ctx, 'x <= 1 and x >= 1 and x != 2'))).toBe('True')
    expect(value(await run(ctx, 'import os'))).toBeUndefined()
    expect(value(await run(ctx, 'importx = 5\nimportx'))).toBe('5')
    expect(value(await run(ctx, 'dict(a=1)'))).toBe("{'a': 1}")
  })

  test('the driver comes over the channel: the command line holds the bootstrap only', async () => {
    const ctx = await start()
    // python decodes and copies every argument several times at its start: 6M instructions for
    // the driver's 34 KB, a tenth of the start, when it was passed there.
    const cmdline = await Bun.file(`/proc/${ctx.pid}/cmdline`).text()
    expect(cmdline.length).toBeLessThan(4096)
    expect(cmdline).not.toContain('_forwarders')
  })

  test('the output forwarders are not threading threads: a cell sees its own only, output still in order', async () => {
    const ctx = await start()
    expect(value(await run(ctx, 'import threading\nthreading.active_count()'))).toBe('1')
    const events = await run(ctx, 'import os\nprint("out", flush=True); os.system("echo sub"); 6 * 7')
    expect(
      events
        .filter(e => e.type === 'stdout')
        .map(e => e.text)
        .join(''),
    ).toBe('out\nsub\n')
    expect(value(events)).toBe('42')
  })

  test('a container whose repr fits a line is shown without importing pprint; a longer one is laid out by it', async () => {
    const ctx = await start()
    expect(value(await run(ctx, "{'b': [1, 2.5], 'a': (None, {3})}"))).toBe("{'b': [1, 2.5], 'a': (None, {3})}")
    expect(value(await run(ctx, "'pprint' in __import__('sys').modules"))).toBe('False')
    // 30 numbers are past pprint's 80 columns: one per line, as before.
    expect(value(await run(ctx, 'list(range(30))'))).toBe(`[${Array.from({ length: 30 }, (_, i) => i).join(',\n ')}]`)
  })

  test('cells’ sources reach linecache once it is imported: tracebacks and inspect show them', async () => {
    const ctx = await start()
    await run(ctx, 'def f():\n    return 41 + 1')
    const loaded = await run(ctx, "'linecache' in __import__('sys').modules")
    expect(value(loaded)).toBe('False')
    expect(value(await run(ctx, 'import inspect\ninspect.getsource(f)'))).toBe("'def f():\\n    return 41 + 1'")
    const error = await run(ctx, 'def g():\n    return 1 / 0\ng()')
    expect(error.find(e => e.type === 'error')?.error?.traceback.join('\n')).toContain('return 1 / 0')
    expect(value(await run(ctx, 'inspect.getsource(g)'))).toBe("'def g():\\n    return 1 / 0\\n'")
  })

  test('an interpreter hands its compiled driver on, and the next one at that path runs it without compiling', async () => {
    const first = await start()
    const code = first.driverCode
    expect(code?.length).toBeGreaterThan(1000)
    const second = await start(code)
    // It did not compile, so it has nothing to offer.
    expect(second.driverCode).toBeUndefined()
    expect(value(await run(second, 'x = 20\nx + 22'))).toBe('42')
    const error = await run(second, '1 / 0')
    expect(error.find(e => e.type === 'error')?.error?.traceback.join('\n')).not.toContain('execd-driver')
  })

  test('code compiled by another python version is not run: the source is compiled instead', async () => {
    const first = await start()
    const code = first.driverCode!
    const nul = code.indexOf(0)
    const other = Buffer.concat([Buffer.from('2.7.18 (not this one)'), code.subarray(nul)])
    const second = await start(other)
    expect(second.driverCode?.length).toBeGreaterThan(1000)
    expect(value(await run(second, '6 * 7'))).toBe('42')
  })
})
