/**
 * What a python cell writes without a newline is not held in its interpreter until the cell
 * ends: it goes out once 64 Ki characters wait, and a write over execd's 128 MiB an event
 * arrives in pieces, the lines after it too (it was held whole, then dropped whole).
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { PYTHON, pythonAvailable } from './python-env'
import { createContext, expectWellFormed, ofType, runCode, stdoutText, type WireEvent } from './runtime-kit'

describe.skipIf(pythonAvailable !== true)(`python output without a newline (${PYTHON})`, () => {
  const fx = daemonWithDir('output-held')
  let id: string
  beforeAll(async () => {
    id = await createContext(fx.d, 'python')
  })

  test('100,000 characters without a newline reach the client while the cell still runs', async () => {
    const go = join(fx.tmp, 'go')
    // The cell waits for the test to see its output (30 s at most, so the old build ends too).
    const code = [
      'import os, sys, time',
      "sys.stdout.write('x' * 100000)",
      'end = time.monotonic() + 30',
      `while not os.path.exists(${JSON.stringify(go)}) and time.monotonic() < end:`,
      '    time.sleep(0.05)',
      `os.path.exists(${JSON.stringify(go)})`,
    ].join('\n')
    const res = await postJson(fx.d, '/code', { code, context: { id, language: 'python' } })
    expect(res.status).toBe(200)
    // Read to the end; once the output is all there, let the cell go: its value says whether it
    // was still waiting then (True), or had given up and ended first (False, on the old build).
    const frames = await readSse(res, (_, all) => {
      if (!existsSync(go) && stdoutText(all.map(f => f.data as WireEvent)).length >= 100000) writeFileSync(go, '')
      return false
    })
    const events = frames.map(f => f.data as WireEvent)
    expectWellFormed(events, id)
    expect(stdoutText(events)).toBe('x'.repeat(100000))
    expect(ofType(events, 'result').map(e => e.results['text/plain'])).toEqual(['True'])
  })

  test('one write over 128 MiB arrives whole, and the line after it', async () => {
    const size = (128 << 20) + 1
    const events = await runCode(fx.d, `import sys\nsys.stdout.write('x' * ${size})\nprint('after')`, {
      id,
      language: 'python',
    })
    expectWellFormed(events, id)
    expect(ofType(events, 'error')).toEqual([])
    const out = stdoutText(events)
    expect(out.length).toBe(size + 'after\n'.length)
    expect(out.endsWith('xafter\n')).toBe(true)
    expect(ofType(events, 'stdout').every(e => e.text.length <= 1 << 20)).toBe(true)
  })
})
