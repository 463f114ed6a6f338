/** The python runtime's interpreter half, driven directly (real python3, no HTTP). */
import { afterEach, describe, expect, test } from 'bun:test'
import { writeSync } from 'node:fs'
import { groupAlive } from '../../core/process-groups'
import { EncodedEvent, type ExecEvent } from '../../core/events'
import { SpilledRange } from '../../core/encoded-part'
import { SpilledFile } from '../../core/spilled-bytes'
import { pairAcrossPieces } from '../../spec/kit/pieces-cell'
import { available, closeStarted, PYTHON, runCell as run, startPython as start } from './test-context'

afterEach(closeStarted)

describe.skipIf(!available)(`python context (${PYTHON})${available ? '' : ' (skipped: no python3 >= 3.8)'}`, () => {
  test('os._exit in a cell is reported with its exit status and the context is no longer alive', async () => {
    const ctx = await start()
    const events = await run(ctx, 'import os\nos._exit(3)')
    expect(events.at(-1)?.error?.ename).toBe('DeadKernelError')
    expect(events.at(-1)?.error?.evalue).toContain('exit status 3')
    expect(ctx.alive).toBe(false)
  })

  test("a cell larger than the channel's socket buffer arrives whole, written in pieces as the interpreter reads", async () => {
    const ctx = await start()
    // 8 MiB of code: the first write takes what the buffer holds, the rest waits for room (EAGAIN).
    const size = 8 * 1024 * 1024
    const events = await run(ctx, `s = "${'a'.repeat(size)}"\nprint(len(s), s == "a" * ${size})`)
    expect(
      events
        .filter(e => e.type === 'stdout')
        .map(e => e.text)
        .join(''),
    ).toBe(`${size} True\n`)
    expect(ctx.alive).toBe(true)
  })

  test('a cell sent in pieces arrives as written: escapes, quotes, a surrogate pair across a boundary', async () => {
    const ctx = await start()
    const text = 'a"\\\n\u00e9\ud83d\ude00'.repeat(60_000)
    const code = pairAcrossPieces(
      'import hashlib\ns = ',
      JSON.stringify(text),
      '\nprint(len(s), hashlib.sha256(s.encode()).hexdigest())',
      '#',
    )
    const events = await run(ctx, code)
    const digest = new Bun.CryptoHasher('sha256').update(text).digest('hex')
    expect(
      events
        .filter(e => e.type === 'stdout')
        .map(e => e.text)
        .join(''),
    ).toBe(`${[...text].length} ${digest}\n`)
  })

  test('a large value comes in a spilled file, not memory, whole: characters split between reads too', async () => {
    const ctx = await start()
    const events = await run(ctx, "'é€x' * 700_000")
    const result = events.find(e => e.type === 'result')!
    expect(result).toBeInstanceOf(EncodedEvent)
    expect((result as EncodedEvent).parts.some(p => p instanceof SpilledRange)).toBe(true)
    expect(result.results!['text/plain']).toBe(`'${'é€x'.repeat(700_000)}'`)
    expect(result.results!.text).toBe(result.results!['text/plain'])
  })

  test('a large value with no room left to spill it is an OutputTooLarge error saying why, at once', async () => {
    const ctx = await start()
    // Room taken by files never written (they cost no disk), until the spills' bound refuses.
    const hogs: SpilledFile[] = []
    for (let size = 256 << 20; size >= 1 << 20; size >>= 1)
      for (let hog = SpilledFile.open(size); hog instanceof SpilledFile; hog = SpilledFile.open(size)) hogs.push(hog)
    try {
      const events = await run(ctx, "'x' * 2_000_000")
      expect(events.filter(e => e.type === 'result')).toEqual([])
      const error = events.find(e => e.type === 'error')!.error!
      expect(error.ename).toBe('OutputTooLarge')
      expect(error.evalue).toMatch(/^an output or value of 3\.8 MiB was dropped: (large values held|.* \(TMPDIR\) has)/)
    } finally {
      for (const hog of hogs) hog.release()
    }
    expect((await run(ctx, "len('x' * 2_000_000)")).find(e => e.type === 'result')!.results!['text/plain']).toBe(
      '2000000',
    )
  })

  test('a cell after the interpreter shut its end of the channel is a DeadKernelError, not a hang', async () => {
    const ctx = await start()
    // The shut read side: execd's next write fails EPIPE (not EAGAIN), and the driver sees its end.
    const shut = 'import socket\ns = socket.socket(fileno=3)\ns.shutdown(socket.SHUT_RD)\ns.detach()\nprint("shut")'
    expect((await run(ctx, shut)).find(e => e.type === 'stdout')?.text).toBe('shut\n')
    const events = await run(ctx, 'print(1)')
    expect(events.map(e => e.error?.ename ?? e.type)).toEqual(['DeadKernelError'])
    expect(ctx.alive).toBe(false)
  })

  test('a segfault names the signal and keeps the interpreter’s fatal error text', async () => {
    const ctx = await start()
    const events = await run(ctx, 'import ctypes\nctypes.string_at(0)')
    const error = events.at(-1)?.error
    expect(error?.evalue).toContain('signal: segmentation fault')
    expect(error?.traceback.join('\n')).toContain('Fatal Python error')
  })

  test('an exception whose __str__ raises is the cell’s error, and the context goes on', async () => {
    const ctx = await start()
    const classes = 'class Mute(Exception):\n    def __str__(self):\n        raise RuntimeError("no text")\n'
    const events = await run(ctx, `${classes}raise Mute(1, 2)`)
    expect(events.find(e => e.type === 'error')?.error).toMatchObject({ ename: 'Mute', evalue: 'Mute(1, 2)' })
    // repr failing too: the type's name is all there is to say.
    const both = 'class Mum(Exception):\n    __str__ = __repr__ = lambda self: 1 / 0\n'
    const worse = await run(ctx, `${both}raise Mum()`)
    expect(worse.find(e => e.type === 'error')?.error).toMatchObject({ ename: 'Mum', evalue: 'Mum' })
    expect(ctx.alive).toBe(true)
    const next = await run(ctx, '6 * 7')
    expect(next.find(e => e.type === 'result')?.results?.['text/plain']).toBe('42')
  })

  test('close() kills the whole process group, children of the cell included', async () => {
    const ctx = await start()
    await run(ctx, 'import subprocess\nsubprocess.Popen(["sleep", "60"])')
    await ctx.close()
    expect(groupAlive(ctx.pid)).toBe(false)
  })

  test('a cell’s messages are its events and done alone: no started message, one wake-up of execd for a short cell', async () => {
    const ctx = await start()
    await run(ctx, 'x = 1')
    const channel = ctx['channel']
    const take = channel.take.bind(channel)
    const types: unknown[] = []
    channel.take = () => {
      const msg = take()
      if (msg) types.push(msg.type)
      return msg
    }
    await run(ctx, 'x + 1')
    expect(types).toEqual(['execution_count', 'result', 'done'])
  })

  test('a one-line expression and the same expression after a statement run alike', async () => {
    const ctx = await start()
    await run(ctx, 'import asyncio\nx = 41')
    const value = (events: ExecEvent[]) => events.find(e => e.type === 'result')?.results?.['text/plain']
    expect(value(await run(ctx, 'x + 1'))).toBe('42')
    expect(value(await run(ctx, 'pass\nx + 1'))).toBe('42')
    expect(value(await run(ctx, 'x == 41 != False'))).toBe('True')
    expect(value(await run(ctx, 'await asyncio.sleep(0, result=7)'))).toBe('7')
    expect(value(await run(ctx, '_ * 2'))).toBe('14')
    for (const code of ['x + 1;', 'x = 2', 'None', 'y := 3']) {
      expect(value(await run(ctx, code))).toBeUndefined()
    }
    const failed = (await run(ctx, '1 / 0')).find(e => e.type === 'error')?.error
    expect(failed?.ename).toBe('ZeroDivisionError')
    expect(failed?.traceback.join('\n')).toContain('line 1')
    const bad = (await run(ctx, 'x +')).find(e => e.type === 'error')?.error
    expect(bad?.ename).toBe('SyntaxError')
  })

  test('a large output arrives complete, in several events', async () => {
    const ctx = await start()
    const events = await run(ctx, 'import sys\nfor i in range(20000):\n    print("%05d" % i + "x" * 45)')
    const out = events
      .filter(e => e.type === 'stdout')
      .map(e => e.text)
      .join('')
    expect(out.length).toBe(20000 * 51)
    expect(events.filter(e => e.type === 'stdout').length).toBeGreaterThan(1)
  })

  test('the protocol channel is not inherited: a background child does not keep a dead context alive', async () => {
    const ctx = await start()
    await run(ctx, 'import os\nos.system("sleep 30 &")')
    const events = await run(ctx, 'import os\nos.kill(os.getpid(), 9)')
    expect(events.at(-1)?.error?.evalue).toContain('signal: killed')
  })
})

describe.skipIf(!available)('python interrupts', () => {
  test('an interrupt sent before the cell started still interrupts it', async () => {
    const ctx = await start()
    const events: ExecEvent[] = []
    const running = (async () => {
      for await (const e of ctx.run('import time\ntime.sleep(30)')) events.push(e)
    })()
    await ctx.interrupt() // at once: the driver has not even read the cell yet
    await running
    expect(events.at(-1)?.error?.ename).toBe('KeyboardInterrupt')
    expect(ctx.alive).toBe(true)
  })

  test('a late interrupt request, for a cell that has ended, leaves the running cell alone', async () => {
    const ctx = await start()
    await run(ctx, 'x = 1')
    const events: ExecEvent[] = []
    const running = (async () => {
      for await (const e of ctx.run('import time\ntime.sleep(0.5)\nx')) events.push(e)
    })()
    await Bun.sleep(100)
    // What an interrupt of cell 1 looks like when it reaches the driver late: its number, then SIGINT.
    writeSync(ctx['interrupts'], '1\n')
    ctx['proc'].signal('SIGINT')
    await running
    expect(events.at(-1)?.results?.['text/plain']).toBe('1')
  })

  test('a SIGINT nobody asked for (kill -INT) still interrupts a running cell', async () => {
    const ctx = await start()
    const events = await run(ctx, 'import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(30)')
    expect(events.at(-1)?.error?.ename).toBe('KeyboardInterrupt')
    expect(ctx.alive).toBe(true)
  })

  test('a late interrupt, after the cell finished, does not touch the next cell', async () => {
    const ctx = await start()
    await run(ctx, 'x = 1')
    await ctx.interrupt()
    ctx['proc'].signal('SIGINT') // a SIGINT arriving while idle is ignored by the driver
    const events = await run(ctx, 'import time\ntime.sleep(0.2)\nx')
    expect(events.at(-1)?.results?.['text/plain']).toBe('1')
  })
})
