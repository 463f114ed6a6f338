/**
 * A python cell's forked children (os.fork, multiprocessing's fork workers) print through the
 * driver's sys.stdout, so they send on the channel to execd that the parent sends on: one socket,
 * several writers. A message larger than the kernel queues in one piece (a batch of long lines)
 * was interleaved with another process's, execd found it torn and dropped it: four children and
 * the parent each printing 40 lines of 200,000 characters lost about half of them.
 */
import { expect, test } from 'bun:test'
import { daemonWithDir } from './kit/daemon-dir'
import { PYTHON, pythonAvailable } from './python-env'
import { createContext, expectWellFormed, ofType, runCode, stdoutText } from './runtime-kit'

const LINES = 40
const WIDTH = 200_000

/** How many times each of `letters` occurs in `text`. */
function counts(text: string, letters: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const l of letters) out[l] = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c in out) out[c]!++
  }
  return out
}

const whole = (letters: string) => Object.fromEntries([...letters].map(l => [l, LINES * WIDTH]))

const fx = daemonWithDir('fork-output')

test.skipIf(pythonAvailable !== true)(
  `python (${PYTHON}): four os.fork children and the parent: every character of every line arrives`,
  async () => {
    const id = await createContext(fx.d, 'python')
    // Each process its own letter, so what arrives is counted whatever the interleaving of lines
    // (processes writing to one stdout interleave, as they do on a pipe; they must not lose).
    const code = [
      'import os',
      'def lines(letter):',
      `    for _ in range(${LINES}): print(letter * ${WIDTH})`,
      'pids = []',
      'for letter in "abcd":',
      '    pid = os.fork()',
      '    if pid == 0:',
      '        lines(letter)',
      '        os._exit(0)',
      '    pids.append(pid)',
      'lines("P")',
      'for pid in pids: os.waitpid(pid, 0)',
      // The cell's value after them, large enough to go as a bulk message too.
      `"v" * ${WIDTH}`,
    ].join('\n')
    const events = await runCode(fx.d, code, { id, language: 'python' })
    expectWellFormed(events, id)
    expect(counts(stdoutText(events), 'abcdP')).toEqual(whole('abcdP'))
    expect(ofType(events, 'result').map(e => e.results['text/plain'].length)).toEqual([WIDTH + 2])
  },
  120_000,
)

test.skipIf(pythonAvailable !== true)(
  "multiprocessing's fork workers printing long lines: every character arrives",
  async () => {
    const id = await createContext(fx.d, 'python')
    const code = [
      'import multiprocessing',
      'def work(letter):',
      `    for _ in range(${LINES}): print(letter * ${WIDTH})`,
      '    return letter',
      'with multiprocessing.get_context("fork").Pool(4) as pool:',
      '    done = pool.map(work, "abcd")',
      '"".join(done)',
    ].join('\n')
    const events = await runCode(fx.d, code, { id, language: 'python' })
    expectWellFormed(events, id)
    expect(counts(stdoutText(events), 'abcd')).toEqual(whole('abcd'))
    expect(ofType(events, 'result').map(e => e.results['text/plain'])).toEqual(["'abcd'"])
  },
  120_000,
)

test.skipIf(pythonAvailable !== true)(
  'lines printed just before os.fork() arrive once: the child does not send them again',
  async () => {
    const id = await createContext(fx.d, 'python')
    // A burst of lines waits in the batch for the flusher (10 ms) when the fork copies it.
    const code = [
      'import os',
      'for i in range(1000): print(i)',
      'pid = os.fork()',
      'if pid == 0:',
      '    print("child")',
      '    os._exit(0)',
      'os.waitpid(pid, 0)',
      'print("parent")',
    ].join('\n')
    const events = await runCode(fx.d, code, { id, language: 'python' })
    expectWellFormed(events, id)
    // The parent's batch and the child's line race each other to execd: each once, in any order.
    const sorted = (lines: string[]) => lines.sort()
    const want = [...Array.from({ length: 1000 }, (_, i) => String(i)), 'child', 'parent', '']
    expect(sorted(stdoutText(events).split('\n'))).toEqual(sorted(want))
  },
)
