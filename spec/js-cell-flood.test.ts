/**
 * A javascript or typescript cell's flood read whole over real HTTP, execd bounded as for a go
 * cell's (spec/go-cell-flood.test.ts). The driver's writes go down a pipe of frames, read in
 * pieces as the reader takes them (plugins/javascript/output-pipe.ts); one IPC message per
 * write, which a writing loop outran, took execd to 144–176 MiB for 1 GiB.
 */
import { describe, expect, test } from 'bun:test'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { numberedLines, readFlood } from './kit/flood-read'

const fx = daemonAlone()
const MiB = 1024 * 1024
const LINES = 256 * 1024

/** Reads the cell's flood; every 1 KiB line arrives once, numbered in the order written. */
async function flood(language: string, write: string) {
  const made = await postJson(fx.d, '/code/context', { language })
  const { id } = (await made.json()) as { id: string }
  const res = await postJson(fx.d, '/code', {
    code: `const line = '0'.repeat(1017)\nfor (let i = 0; i < ${LINES}; i++) ${write}(String(i).padStart(6, '0') + line + '\\n')\n`,
    context: { id, language },
  })
  expect(res.status).toBe(200)
  const lines = numberedLines(1023)
  const read = await readFlood(res, fx.d.proc.pid, lines.onText)
  expect(lines.rest).toBe('')
  return { ...read, lines: lines.count }
}

describe('a javascript cell flood', () => {
  for (const [language, write] of [
    ['javascript', 'process.stdout.write'],
    ['typescript', 'console.log'],
  ] as const) {
    test(`${language}: 256 MiB of ${write} lines reach the reader whole, in order, and execd stays under 120 MiB`, async () => {
      // console.log adds its own line feed: the line written ends in two, the second an empty line.
      const { wire, last, peak, lines } = await flood(language, write)
      expect(last).toStartWith('data: {"type":"execution_complete"')
      expect(lines).toBe(LINES)
      expect(wire).toBeGreaterThan(256 * MiB)
      expect((await fx.d.fetch('/ping')).status).toBe(200)
      console.log(`${language}: execd peaked at ${peak} MiB`)
      expect(peak).toBeLessThan(120)
    }, 180_000)
  }
})
