/**
 * Row 11: the cell a user actually waits for. Row 1 sends cells back to back; an agent sends
 * one, thinks for seconds, sends the next, so its cell meets a daemon idle for a while (cold
 * caches, timers that fired meanwhile, a scheduler waking every process anew). 11a–11d time a
 * warm cell sent after a pause of `BENCH_PAUSE_MS` (1 s), against the same client's `/ping` after
 * the same pause and against row 1's relay floors after the same pause. Each pause is followed by
 * one request to each of the three servers (execd, python relay, javascript relay), in an order
 * that rotates, what each is asked cycling, so that each server has been idle the whole pause
 * and every kind of request comes first, second and third alike. 11e: a fresh daemon's first
 * 200 python cells, back to back, taking turns with a fresh relay's (what row 1 measures only
 * from its fifth cell on).
 */
import { startJsRelay } from '../baselines/js-relay'
import { startPythonRelay } from '../baselines/python-relay'
import { createContext, javascriptContext, outputOf, relayClient, requireCode, runCode } from '../lib/code'
import { reps } from '../lib/config'
import { type Execd, Skip, startExecd } from '../lib/execd'
import { timed } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, timeRatio } from '../lib/row'
import { summarize } from '../lib/stats'

const PING_TARGET = 1.5
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 1000) || 1000
const FRESH_CELLS = 200

type Poster = Pick<Execd, 'post'>

/** `x + 1` in `context`, to the end of its stream, checked; ms. */
const cell = (client: Poster, context: string, language: string) => async (): Promise<number> => {
  const t0 = performance.now()
  const { events, at } = await runCode(client, context, language, 'x + 1')
  const got = events.map(outputOf).find(o => o !== undefined)
  if (got !== '2') throw new Error(`${language} x + 1 gave ${JSON.stringify(got)}, expected "2"`)
  return at - t0
}

const ping = (get: () => Promise<Response>) => () => timed(() => get().then(r => r.arrayBuffer()))

/** One kind of request to one server, and its samples. */
interface Kind {
  name: string
  once: () => Promise<number>
}

/** 11a–11d: each server's kinds after a pause, `perKind` samples of the most numerous. */
async function paused(): Promise<RowResult[]> {
  const d = await startExecd()
  const relay = await startPythonRelay()
  const jsRelay = await startJsRelay()
  try {
    await requireCode(d)
    const py = await createContext(d, 'python')
    await runCode(d, py, 'python', 'x = 1')
    const js = await javascriptContext(d)
    const rc = relayClient(relay.url)
    const jc = relayClient(jsRelay.url)
    await runCode(rc, py, 'python', 'x = 1')
    if (js) await runCode(jc, js, 'javascript', 'var x = 1')
    const servers: Kind[][] = [
      [
        { name: 'ping', once: ping(() => d.fetch('/ping')) },
        { name: 'python', once: cell(d, py, 'python') },
        ...(js ? [{ name: 'js', once: cell(d, js, 'javascript') }] : []),
      ],
      [
        { name: 'rping', once: ping(() => fetch(`${relay.url}/ping`)) },
        { name: 'relay', once: cell(rc, py, 'python') },
      ],
      js
        ? [
            { name: 'jrping', once: ping(() => fetch(`${jsRelay.url}/ping`)) },
            { name: 'jrelay', once: cell(jc, js, 'javascript') },
          ]
        : [],
    ]
    const samples: Record<string, number[]> = {}
    // Warm, back to back, as row 1 would have them.
    for (let i = 0; i < 20; i++) for (const kinds of servers) for (const k of kinds) await k.once()
    const perKind = reps(30, 10)
    const rounds = perKind * Math.max(...servers.map(s => s.length))
    for (let r = 0; r < rounds; r++) {
      await Bun.sleep(PAUSE_MS)
      const shift = Math.floor(r / 6) % servers.length
      for (const [s, kinds] of [...servers.slice(shift), ...servers.slice(0, shift)].entries()) {
        if (kinds.length === 0) continue
        const k = kinds[(r + s) % kinds.length]!
        ;(samples[k.name] ??= []).push(await k.once())
      }
    }
    const of = (name: string) => summarize(samples[name] ?? [])
    const pause = `after a ${PAUSE_MS / 1000} s pause`
    const rows: RowResult[] = []
    const vs = (row: string, what: string, ours: string, base: string, baseName: string, target?: number) => ({
      row,
      what: `${what} ${pause}`,
      ours: figure(of(ours), 'ms'),
      baselineName: baseName,
      baseline: figure(of(base), 'ms'),
      ...timeRatio(of(ours).median, of(base).median, target),
      ...(target === undefined ? { pass: null } : {}),
    })
    const relayNote = (cellName: string, pingName: string) =>
      `the relay's own cell ${pause} is ${(of(cellName).median / of(pingName).median).toFixed(2)}× its /ping ${pause} (${of(pingName).median.toFixed(2)} ms)`
    rows.push(
      vs(
        '11a',
        'warm python x + 1',
        'python',
        'ping',
        `execd GET /ping ${pause}, same client (Bun fetch)`,
        PING_TARGET,
      ),
    )
    rows.push({
      ...vs('11b', 'warm python x + 1', 'python', 'relay', `row 1h's relay floor, its cell ${pause}`),
      note: relayNote('relay', 'rping'),
    })
    if (js) {
      rows.push(
        vs(
          '11c',
          'warm javascript x + 1',
          'js',
          'ping',
          `execd GET /ping ${pause}, same client (Bun fetch)`,
          PING_TARGET,
        ),
      )
      rows.push({
        ...vs('11d', 'warm javascript x + 1', 'js', 'jrelay', `row 1j's relay floor, its cell ${pause}`),
        note: relayNote('jrelay', 'jrping'),
      })
    }
    return rows
  } finally {
    await Promise.allSettled([d.stop(), relay.stop(), jsRelay.stop()])
  }
}

/** 11e: a fresh daemon's and a fresh relay's first cells, taking turns cell by cell. */
async function fresh(): Promise<RowResult[]> {
  const d = await startExecd()
  const relay = await startPythonRelay()
  try {
    const py = await createContext(d, 'python')
    await runCode(d, py, 'python', 'x = 1')
    const rc = relayClient(relay.url)
    await runCode(rc, py, 'python', 'x = 1')
    const ours: number[] = []
    const theirs: number[] = []
    const execdCell = cell(d, py, 'python')
    const relayCell = cell(rc, py, 'python')
    for (let i = 0; i < FRESH_CELLS; i++) {
      if (i % 2 === 0) {
        ours.push(await execdCell())
        theirs.push(await relayCell())
      } else {
        theirs.push(await relayCell())
        ours.push(await execdCell())
      }
    }
    const o = summarize(ours)
    const t = summarize(theirs)
    const first = (xs: number[]) => xs[0]!.toFixed(2)
    const tenth = (xs: number[]) => summarize(xs.slice(0, 10)).median.toFixed(2)
    return [
      {
        row: '11e',
        what: `a fresh daemon's first ${FRESH_CELLS} python cells (x + 1, back to back)`,
        ours: figure(o, 'ms'),
        baselineName: `a fresh python relay's first ${FRESH_CELLS} (row 1h's floor), taking turns`,
        baseline: figure(t, 'ms'),
        ...timeRatio(o.median, t.median),
        pass: null,
        note: `cell 1: ${first(ours)} ms against ${first(theirs)}; median of cells 1–10 ${tenth(ours)} against ${tenth(theirs)}; of cells 101–200 ${summarize(ours.slice(100)).median.toFixed(2)} against ${summarize(theirs.slice(100)).median.toFixed(2)}`,
      },
    ]
  } finally {
    await Promise.allSettled([d.stop(), relay.stop()])
  }
}

export default {
  id: '11',
  title: "the cell after a pause, and a fresh daemon's first cells",
  async run(): Promise<RowResult[]> {
    return [...(await paused()), ...(await fresh())]
  },
} satisfies BenchRow
