/**
 * Row 1: warm code round trip — python `x + 1` through `POST /code` to `execution_complete`,
 * vs the same through a Jupyter server + ipykernel (REST + kernel WebSocket), and vs the
 * physical floor: a pipe round trip to a warm python. Also, for the record, vs a Jupyter
 * server patched to set TCP_NODELAY on its WebSockets (stock Jupyter stalls ~40 ms on Nagle).
 */
import { jupyterMissing, startJupyter } from '../baselines/jupyter'
import { startWarmPython } from '../baselines/python-pipe'
import { createContext, outputOf, requireCode, runCode } from '../lib/code'
import { reps } from '../lib/config'
import { startExecd } from '../lib/execd'
import { interleave, type Side, timed } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, missingBaseline, speedup, timeRatio } from '../lib/row'
import { summarize } from '../lib/stats'

const expectTwo = (what: string, got: string | undefined) => {
  if (got !== '2') throw new Error(`${what}: x + 1 gave ${JSON.stringify(got)}, expected "2"`)
}

export default {
  id: '1',
  title: 'warm code round trip (python x + 1)',
  async run(): Promise<RowResult[]> {
    const d = await startExecd()
    const noJupyter = jupyterMissing()
    const jupyter = noJupyter ? null : await startJupyter()
    const tuned = noJupyter ? null : await startJupyter({ nodelay: true })
    const python = startWarmPython()
    try {
      await requireCode(d)
      const id = await createContext(d, 'python')
      await runCode(d, id, 'python', 'x = 1')
      await python.run('x = 1')
      const sides: Side[] = [
        {
          name: 'execd',
          once: async () => {
            const t0 = performance.now()
            const { events, at } = await runCode(d, id, 'python', 'x + 1')
            expectTwo(
              'execd',
              events.map(outputOf).find(o => o !== undefined),
            )
            return at - t0
          },
        },
        { name: 'pipe', once: () => timed(async () => expectTwo('pipe', await python.run('x + 1'))) },
      ]
      for (const [name, server] of [
        ['jupyter', jupyter],
        ['nodelay', tuned],
      ] as const) {
        if (!server) continue
        const kernel = await server.createKernel()
        const channel = await server.connect(kernel)
        await channel.execute('x = 1')
        sides.push({ name, once: () => timed(async () => expectTwo(name, (await channel.execute('x + 1')).result)) })
      }
      const samples = await interleave(sides, { reps: reps(200, 20), warmup: 5, budgetMs: 60_000, minReps: 20 })
      const ours = summarize(samples.execd ?? [])
      const pipe = summarize(samples.pipe ?? [])
      const rows: RowResult[] = []
      if (jupyter) {
        const base = summarize(samples.jupyter ?? [])
        rows.push({
          row: '1a',
          what: 'warm code round trip vs Jupyter',
          ours: figure(ours, 'ms'),
          baselineName: 'jupyter_server + ipykernel (WebSocket)',
          baseline: figure(base, 'ms'),
          ...speedup(ours.median, base.median, 30),
        })
        const nodelay = summarize(samples.nodelay ?? [])
        rows.push({
          row: '1b',
          what: 'warm code round trip vs tuned Jupyter',
          ours: figure(ours, 'ms'),
          baselineName: 'same, server patched with TCP_NODELAY',
          baseline: figure(nodelay, 'ms'),
          ...speedup(ours.median, nodelay.median),
          note: 'stock jupyter_server leaves Nagle on for kernel WebSockets: each execution stalls on a delayed ACK (~40 ms); 1b removes that stall.',
        })
      } else
        rows.push({ ...missingBaseline('1a', 'warm code round trip vs Jupyter', noJupyter!), ours: figure(ours, 'ms') })
      rows.push({
        row: '1c',
        what: 'warm code round trip vs floor',
        ours: figure(ours, 'ms'),
        baselineName: 'warm python over a pipe',
        baseline: figure(pipe, 'ms'),
        ...timeRatio(ours.median, pipe.median),
        pass: null,
      })
      return rows
    } finally {
      await Promise.allSettled([d.stop(), jupyter?.stop(), tuned?.stop(), python.stop()])
    }
  },
} satisfies BenchRow
