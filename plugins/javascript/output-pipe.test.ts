/** The cell's output down the driver's pipe of frames (driver-output.ts, output-pipe.ts). */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { ExecEvent } from '../../core/events'
import type { RuntimeContext } from '../../core/plugin'
import { removeTempFiles, runCell, startJs, textOf } from './test-context'

let ctx: RuntimeContext
beforeAll(async () => {
  ctx = await startJs()
})
afterAll(async () => {
  await ctx.close()
  await removeTempFiles()
})

/** Each event's type and text, neighbours of one output stream joined (a read may split them). */
function joined(events: ExecEvent[]): [string, string][] {
  const out: [string, string][] = []
  for (const e of events) {
    const last = out.at(-1)
    const output = e.type === 'stdout' || e.type === 'stderr'
    if (output && last?.[0] === e.type) last[1] += e.text ?? ''
    else out.push([e.type, e.text ?? ''])
  }
  return out
}

const streamsOf = (events: ExecEvent[]) => joined(events).filter(([type]) => type === 'stdout' || type === 'stderr')

test('stdout and stderr written in turns by a loop keep their order', async () => {
  const events = await runCell(
    ctx,
    'for (let i = 0; i < 200; i++) { process.stdout.write(`o${i} `); process.stderr.write(`e${i} `) }',
  )
  const expected: [string, string][] = []
  for (let i = 0; i < 200; i++) expected.push(['stdout', `o${i} `], ['stderr', `e${i} `])
  expect(streamsOf(events)).toEqual(expected)
})

test('a character whose bytes are split between two writes arrives whole', async () => {
  const events = await runCell(
    ctx,
    'const b = Buffer.from("é€"); process.stdout.write(b.subarray(0, 3)); process.stdout.write(b.subarray(3))',
  )
  expect(textOf(events, 'stdout')).toBe('é€')
})

test('a display between writes comes between them, and the value after both', async () => {
  const events = await runCell(
    ctx,
    'process.stdout.write("x".repeat(300000)); display.html("<b>"); console.log("after"); 7',
  )
  expect(joined(events).map(([type]) => type)).toEqual(['stdout', 'result', 'stdout', 'execution_count', 'result'])
})

test("a cell that writes on the driver's pipe itself ends its interpreter, saying so, and keeps its output before", async () => {
  const own = await startJs()
  try {
    const events = await runCell(own, 'console.log("before"); require("node:fs").writeSync(3, "not a frame\\n")')
    expect(textOf(events, 'stdout')).toStartWith('before\n')
    const last = events.at(-1)
    expect(last?.error?.ename).toBe('DeadKernelError')
    expect(last?.error?.evalue).toContain('(fd 3)')
  } finally {
    await own.close()
  }
})
