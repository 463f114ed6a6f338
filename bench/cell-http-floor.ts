/**
 * The HTTP floor of rows 1d/1f (a warm cell over the same client's `GET /ping`, Bun `fetch`),
 * back to back: the canned cell of baselines/canned-cell.ts (a bare compiled `Bun.serve` that
 * answers a cell's body at once) over its own /ping, and execd's javascript cell and /ping,
 * measured in the same rounds (interleaved, the order rotating), with the same client reading
 * the stream as row 1 does (`runCode`). Not run by `make bench`.
 *
 *   bun run bench/cell-http-floor.ts [reps=1500]
 */
import { createContext, relayClient, runCode } from './lib/code'
import { startExecd } from './lib/execd'
import { interleave, timed } from './lib/measure'
import { runThenClean } from './lib/procs'
import { startCannedCell } from './baselines/canned-cell'
import { summarize } from './lib/stats'

const reps = Number(process.argv[2] ?? 1500)

async function main(): Promise<void> {
  const { url, stop } = await startCannedCell()
  const canned = relayClient(url)
  const d = await startExecd()
  const js = await createContext(d, 'javascript')
  await runCode(d, js, 'javascript', 'var x = 1')
  const cell = (c: Parameters<typeof runCode>[0], id: string, language: string) => async () => {
    const t0 = performance.now()
    const { events, at } = await runCode(c, id, language, 'x + 1')
    if (!events.some(e => e.type === 'result')) throw new Error(`${language}: no result`)
    return at - t0
  }
  const samples = await interleave(
    [
      { name: 'cping', once: () => timed(() => fetch(`${url}/ping`).then(r => r.arrayBuffer())) },
      { name: 'ccell', once: cell(canned, 'context', 'javascript') },
      { name: 'ping', once: () => timed(() => d.fetch('/ping').then(r => r.arrayBuffer())) },
      { name: 'js', once: cell(d, js, 'javascript') },
    ],
    { reps, warmup: 200 },
  )
  const m = (k: keyof typeof samples) => summarize(samples[k]).median
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1)
  console.log(`${reps} rounds, interleaved, medians in ms; load ${load}`)
  console.log(
    `canned server: /ping ${m('cping').toFixed(3)}, cell ${m('ccell').toFixed(3)}: ${(m('ccell') / m('cping')).toFixed(2)}×`,
  )
  console.log(
    `execd:         /ping ${m('ping').toFixed(3)}, javascript cell ${m('js').toFixed(3)}: ${(m('js') / m('ping')).toFixed(2)}×`,
  )
  await Promise.all([d.stop(), stop()])
}

await runThenClean(main)
