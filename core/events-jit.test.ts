/**
 * What JavaScriptCore's optimising compiler makes of `encodeEvent` over a warm cell's events:
 * its DFG code, once made, holds for every one of them. A plain bun runs the encoding of many cells' events
 * (init, ping, an execution_count and a result parsed from the driver's JSON, the completion)
 * and reports its compiles and speculation failures on stderr (`BUN_JSC_reportCompileTimes`,
 * `BUN_JSC_printEachOSRExit`). The walk's old `isEmpty` (`v === ''` among the result's objects)
 * exited ~100 times and had encodeEvent compiled again (round 22). Nothing is timed: JSC tiers up
 * by execution counts, and the child runs until the DFG's code has been installed and used.
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'

const CELLS = 40_000

const script = `
import { encodeEvent, makeEvent } from ${JSON.stringify(join(import.meta.dir, 'events.ts'))}
let keep = 0
for (let i = 0; i < ${CELLS}; i++) {
  const events = [
    makeEvent('init', { text: 'ctx', execution_id: 'e' + i }),
    makeEvent('ping', { text: 'pong' }),
    JSON.parse('{"type":"execution_count","execution_count":' + i + '}'),
    JSON.parse('{"type":"result","results":{"text/plain":"' + i + '"}}'),
    makeEvent('execution_complete', { execution_time: i % 3 }),
  ]
  events[2].timestamp = Date.now()
  events[3].timestamp = Date.now()
  for (const e of events) keep += encodeEvent(e).length
  // A turn now and then, so the compiler thread's code is installed while the loop still runs.
  if (i % 1000 === 999) await new Promise(r => setTimeout(r, 1))
}
console.log(keep)
`

describe('encodeEvent under the JIT', () => {
  test("a warm cell's events never make encodeEvent's optimised code exit", async () => {
    const child = Bun.spawn([process.execPath, '-e', script], {
      env: { ...process.env, BUN_JSC_reportCompileTimes: '1', BUN_JSC_printEachOSRExit: '1' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [out, err, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ])
    expect(code).toBe(0)
    expect(Number(out.trim())).toBeGreaterThan(0)
    const dfg = err.split('\n').filter(l => /^Optimized encodeEvent#\w+:.* using DFG /.test(l))
    const exits = err.split('\n').filter(l => l.startsWith('Speculation failure in encodeEvent#'))
    // The DFG's code was made (else nothing here could fail)…
    expect(dfg.length).toBeGreaterThanOrEqual(1)
    // …and never left on a failed speculation: before, 6–100 BadType exits, then a second DFG
    // compile. (JSC may still compile it again with no exit, a watchpoint fired: not counted.)
    expect(exits).toEqual([])
  }, 60_000)
})
