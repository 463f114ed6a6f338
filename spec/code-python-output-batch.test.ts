/**
 * A python cell's output goes to execd in batches (output.py's _Batch), not a message a line:
 * what batching could break. The order across stdout, stderr, a subprocess's output, display()
 * and the cell's value and error; a line printed before the cell waits (flushed or not, or in a
 * C call holding the GIL) reaching the client while it waits; an interrupt landing while execd
 * reads nothing, its error arriving whole and the context going on.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { postUnread } from './kit/narrow-reader'
import { PYTHON, pythonAvailable } from './python-env'
import { createContext, expectWellFormed, ofType, runCode, stdoutText, type WireEvent } from './runtime-kit'

/** The output and result events in order, adjacent output of one stream joined (execd merges them too). */
function sequence(events: WireEvent[]): [string, string][] {
  const out: [string, string][] = []
  for (const e of events) {
    const text =
      e.type === 'stdout' || e.type === 'stderr'
        ? e.text
        : e.type === 'result'
          ? e.results['text/plain']
          : e.type === 'error'
            ? e.error.ename
            : undefined
    if (text === undefined) continue
    const last = out.at(-1)
    if (last && last[0] === e.type && (e.type === 'stdout' || e.type === 'stderr')) last[1] += text
    else out.push([e.type, text])
  }
  return out
}

describe.skipIf(pythonAvailable !== true)(`python output sent in batches (${PYTHON})`, () => {
  const fx = daemonWithDir('output-batch')
  let id: string
  beforeAll(async () => {
    id = await createContext(fx.d, 'python')
  })

  test('stdout, stderr, a subprocess, display() and the value keep the order the cell wrote them in', async () => {
    // Runs of lines on each stream (a batch switches streams mid-run), a subprocess writing to
    // fd 1 after them, a display(), a line and a partial one, and the value.
    const code = [
      'import os, sys',
      'for i in range(300):',
      '    print("o%d" % i)',
      '    if i % 7 == 0: print("e%d" % i, file=sys.stderr)',
      // fd 1 and fd 2 are two pipes read by two threads: a subprocess's order across them is
      // not kept (nor was it), so it writes one; display() syncs the pipes before its result.
      'os.system("echo sub-out")',
      'display(42)',
      'print("after-sub")',
      'sys.stdout.write("tail")',
      '7 * 6',
    ].join('\n')
    const events = await runCode(fx.d, code, { id, language: 'python' })
    expectWellFormed(events, id)
    const expected: [string, string][] = []
    const push = (type: string, text: string) => {
      const last = expected.at(-1)
      if (last && last[0] === type) last[1] += text
      else expected.push([type, text])
    }
    for (let i = 0; i < 300; i++) {
      push('stdout', `o${i}\n`)
      if (i % 7 === 0) push('stderr', `e${i}\n`)
    }
    push('stdout', 'sub-out\n')
    expected.push(['result', '42'])
    push('stdout', 'after-sub\ntail')
    expected.push(['result', '42'])
    expect(sequence(events)).toEqual(expected)
  })

  test("lines printed just before os._exit arrive: a forked child's, and the interpreter's own", async () => {
    // The batch waited for the flusher, and os._exit took it with the process: the child's 100
    // lines were lost (all came before batching), and 999 of the interpreter's 1,000.
    const child = [
      'import os',
      'pid = os.fork()',
      'if pid == 0:',
      '    for i in range(100): print("c%d" % i)',
      '    os._exit(0)',
      'os.waitpid(pid, 0)',
      'print("parent")',
    ].join('\n')
    let events = await runCode(fx.d, child, { id, language: 'python' })
    expectWellFormed(events, id)
    const lines = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}\n`).join('')
    expect(stdoutText(events)).toBe(`${lines(100, 'c')}parent\n`)
    const own = ['import os', 'for i in range(1000): print("x%d" % i)', 'os._exit(3)'].join('\n')
    events = await runCode(fx.d, own, { id, language: 'python' })
    expect(stdoutText(events)).toBe(lines(1000, 'x'))
    expect(ofType(events, 'error').map(e => e.error.ename)).toEqual(['DeadKernelError'])
    id = await createContext(fx.d, 'python')
  })

  test('a signal handler that prints while the cell prints: every line arrives, the cell ends', async () => {
    // python runs a handler between any two bytecodes of the main thread, so inside a print that
    // held the batch's lock (or the channel's, mid-send): the handler's print waited for a lock
    // its own thread held. A signal once hung the context for good; a timer's next signals ran
    // the handler again inside that wait, a RecursionError 0.7 s in (main's build, every run).
    const code = [
      'import signal',
      'ticks = [0]',
      'def tick(*_):',
      '    ticks[0] += 1',
      '    print("tick")',
      'signal.signal(signal.SIGALRM, tick)',
      'signal.setitimer(signal.ITIMER_REAL, 0.002, 0.002)',
      'for i in range(100000): print("line%d" % i)',
      'signal.setitimer(signal.ITIMER_REAL, 0)',
      'signal.signal(signal.SIGALRM, signal.SIG_DFL)',
      'ticks[0]',
    ].join('\n')
    // A bound no live cell meets (it ends in a second or two): a hang is the failure.
    const events = await Promise.race([runCode(fx.d, code, { id, language: 'python' }), Bun.sleep(90_000)])
    if (!events) {
      id = await createContext(fx.d, 'python')
      throw new Error('the cell did not end within 90 s')
    }
    expectWellFormed(events, id)
    expect(ofType(events, 'error').map(e => e.error.ename)).toEqual([])
    // A print is two writes (its text, then the newline): a handler's line may land between them.
    const text = stdoutText(events)
    const ticks = Number(ofType(events, 'result')[0]!.results['text/plain'])
    expect(text.split('tick').length - 1).toBe(ticks)
    const lines = text.replaceAll('tick', '').split('\n')
    expect(lines.filter(l => l !== '')).toEqual(Array.from({ length: 100000 }, (_, i) => `line${i}`))
  }, 120_000)

  test('a print and then a partial line before an exception arrive before its error', async () => {
    const code = [
      'import sys',
      'print("before")',
      'print("warn", file=sys.stderr)',
      'sys.stdout.write("partial")',
      '1 / 0',
    ].join('\n')
    const events = await runCode(fx.d, code, { id, language: 'python' })
    expectWellFormed(events, id)
    expect(sequence(events)).toEqual([
      ['stdout', 'before\n'],
      ['stderr', 'warn\n'],
      ['stdout', 'partial'],
      ['error', 'ZeroDivisionError'],
    ])
  })

  // A partial line too: a progress line rewritten with \r (print(..., end="")) showed nothing
  // until the cell printed a newline or ended, where Jupyter's kernels show it within 0.2 s.
  const printed = [
    ['a line printed with flush=True', 'print("waiting", flush=True)', 'waiting\n'],
    ['a line printed without a flush', 'print("waiting")', 'waiting\n'],
    ['a partial line', 'print("\\rwaiting", end="")', '\rwaiting'],
  ] as const
  for (const [how, [what, print, shown]] of printed.entries()) {
    test(`${what} reaches the client while the cell still runs`, async () => {
      const go = join(fx.tmp, `go-${how}`)
      // The cell waits for the test to see its line (20 s at most, so a build that holds it ends too).
      const code = [
        'import os, time',
        print,
        'end = time.monotonic() + 20',
        `while not os.path.exists(${JSON.stringify(go)}) and time.monotonic() < end:`,
        '    time.sleep(0.02)',
        `os.path.exists(${JSON.stringify(go)})`,
      ].join('\n')
      const res = await postJson(fx.d, '/code', { code, context: { id, language: 'python' } })
      expect(res.status).toBe(200)
      const frames = await readSse(res, (_, all) => {
        if (!existsSync(go) && stdoutText(all.map(f => f.data as WireEvent)) === shown) writeFileSync(go, '')
        return false
      })
      const events = frames.map(f => f.data as WireEvent)
      expectWellFormed(events, id)
      // True: it was still waiting when its line came; False: the line came only at its end.
      expect(ofType(events, 'result').map(e => e.results['text/plain'])).toEqual(['True'])
    })
  }

  test('a line printed before a C call that holds the GIL reaches the client during the call', async () => {
    // libc's sleep through ctypes.PyDLL keeps the GIL, so no other thread of the interpreter runs
    // until it returns: the line must go out from the printing thread itself. Once it is in, the
    // test interrupts the call (20 s at most, so a build that holds the line ends too).
    const code = ['import ctypes', 'print("computing")', 'ctypes.PyDLL(None).sleep(20)'].join('\n')
    const res = await postJson(fx.d, '/code', { code, context: { id, language: 'python' } })
    expect(res.status).toBe(200)
    let interrupted: Promise<Response> | undefined
    const frames = await readSse(res, (_, all) => {
      if (!interrupted && stdoutText(all.map(f => f.data as WireEvent)) === 'computing\n')
        interrupted = fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })
      return false
    })
    await interrupted
    const events = frames.map(f => f.data as WireEvent)
    expectWellFormed(events, id)
    // KeyboardInterrupt: the line came while the call still ran; none: only at the cell's end.
    expect(ofType(events, 'error').map(e => e.error.ename)).toEqual(['KeyboardInterrupt'])
  })

  test('an interrupt while execd reads nothing lands between messages: the error arrives and the context goes on', async () => {
    expect((await runCode(fx.d, 'x = 41', { id, language: 'python' })).some(e => e.type === 'error')).toBe(false)
    // Writes of 100,000 characters: each goes as one bulk message, most blocked mid-send by
    // then, as execd stops reading its channel once the client does.
    const flood = 'import sys\nblock = "y" * 100000\nwhile True: sys.stdout.write(block)'
    const silent = await postUnread(fx.d, '/code', { code: flood, context: { id } })
    const executionId = /"execution_id":"([^"]+)"/.exec(silent.first)?.[1]
    expect(executionId).toBeString()
    try {
      // Long enough for the flood to fill the socket, the journal and the channel on a loaded machine.
      await Bun.sleep(3000)
      expect((await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
      // The stopped cell's events as the journal keeps them: its end is there, its error before it.
      const replay = (await readSse(await fx.d.fetch(`/code/executions/${executionId}/events`))).map(
        f => f.data as WireEvent,
      )
      expect(replay.at(-1)?.type).toBe('execution_complete')
      expect(ofType(replay, 'error').map(e => e.error.ename)).toEqual(['KeyboardInterrupt'])
      // The message right after a torn one is lost with it: the cell's count, sent first.
      expect(ofType(replay, 'execution_count')).toHaveLength(1)
      expect(ofType(replay, 'stdout').every(e => /^y*$/.test(e.text))).toBe(true)
    } finally {
      await silent.close()
    }
    const after = await runCode(fx.d, 'print(x + 1)', { id, language: 'python' })
    expect(stdoutText(after)).toBe('42\n')
  }, 60_000)
})
