/**
 * Row 1: warm code round trip — python `x + 1` through `POST /code` to `execution_complete`,
 * vs the same through a Jupyter server + ipykernel (REST + kernel WebSocket), and vs the
 * physical floor: a pipe round trip to a warm python. Also, for the record, vs a Jupyter
 * server patched to set TCP_NODELAY on its WebSockets (stock Jupyter stalls ~40 ms on Nagle).
 * The same cell is also timed against execd's own `GET /ping` on the same client (what the
 * daemon adds over its cheapest request), with a second client — plain Node `http` keep-alive
 * on one connection — and in a warm javascript context. Rows 1h/1i put it against the floor of
 * the architecture: a bare compiled Bun.serve relaying the cell to a warm python over a socket
 * (baselines/python-relay.ts), whose own cell-over-/ping ratio bounds what 1d/1e can reach;
 * rows 1j/1k the same for javascript: the cell relayed to a warm Bun over Bun's IPC
 * (baselines/js-relay.ts), the floor of 1f/1g.
 */
import { jupyterMissing, startJupyter } from '../baselines/jupyter'
import { startWarmPython } from '../baselines/python-pipe'
import { startPythonRelay } from '../baselines/python-relay'
import { startJsRelay } from '../baselines/js-relay'
import { startCannedCell } from '../baselines/canned-cell'
import { createContext, javascriptContext, outputOf, relayClient, requireCode, runCode } from '../lib/code'
import { benchConfig, reps } from '../lib/config'
import { type Execd, Skip, startExecd } from '../lib/execd'
import { interleave, type Side, timed } from '../lib/measure'
import { type NodeClient, nodeMissing, startNodeClient } from '../lib/node-client'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, missingBaseline, speedup, timeRatio } from '../lib/row'
import { summarize, type Summary } from '../lib/stats'

const expectTwo = (what: string, got: string | undefined) => {
  if (got !== '2') throw new Error(`${what}: x + 1 gave ${JSON.stringify(got)}, expected "2"`)
}

const PING_TARGET = 1.5
const JUPYTER_TARGET = 40

/** `x + 1` through the Node client; the body is checked for the result and the final event. */
async function nodeCell(node: NodeClient, id: string, language: string): Promise<number> {
  const r = await node.run({
    method: 'POST',
    path: '/code',
    body: { code: 'x + 1', context: { id, language } },
    until: '"type":"execution_complete"',
  })
  if (r.status !== 200 || !r.body.includes('"text/plain":"2"') || r.body.includes('"type":"error"'))
    throw new Error(`node client ${language} x + 1: ${r.status} ${r.body.slice(0, 300)}`)
  return r.ms
}

async function nodePing(node: NodeClient): Promise<number> {
  const r = await node.run({ method: 'GET', path: '/ping' })
  if (r.status !== 200) throw new Error(`node client /ping: ${r.status}`)
  return r.ms
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
    const relay = await startPythonRelay()
    const jsRelay = await startJsRelay()
    const canned = await startCannedCell()
    const noNode = nodeMissing()
    const node = noNode ? null : startNodeClient(d.url, d.headers['X-EXECD-ACCESS-TOKEN'] ?? '')
    const nodeRelay = noNode ? null : startNodeClient(relay.url, '')
    const nodeJsRelay = noNode ? null : startNodeClient(jsRelay.url, '')
    try {
      await requireCode(d)
      const id = await createContext(d, 'python')
      await runCode(d, id, 'python', 'x = 1')
      await python.run('x = 1')
      await runCode(relayClient(relay.url), id, 'python', 'x = 1')
      const js = await javascriptContext(d)
      if (js) await runCode(relayClient(jsRelay.url), js, 'javascript', 'var x = 1')
      const sides: Side[] = [
        { name: 'ping', once: () => timed(() => d.fetch('/ping').then(r => r.arrayBuffer())) },
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
        { name: 'rping', once: () => timed(() => fetch(`${relay.url}/ping`).then(r => r.arrayBuffer())) },
        { name: 'cping', once: () => timed(() => fetch(`${canned.url}/ping`).then(r => r.arrayBuffer())) },
        {
          name: 'ccell',
          once: async () => {
            const t0 = performance.now()
            const { events, at } = await runCode(relayClient(canned.url), 'context', 'python', 'x + 1')
            expectTwo(
              'canned',
              events.map(outputOf).find(o => o !== undefined),
            )
            return at - t0
          },
        },
        {
          name: 'relay',
          once: async () => {
            const t0 = performance.now()
            const { events, at } = await runCode(relayClient(relay.url), id, 'python', 'x + 1')
            expectTwo(
              'relay',
              events.map(outputOf).find(o => o !== undefined),
            )
            return at - t0
          },
        },
      ]
      /** Bun fetch's `x + 1` in a javascript context, to the end of its stream. */
      const jsCell = (name: string, client: Pick<Execd, 'post'>, context: string) => async () => {
        const t0 = performance.now()
        const { events, at } = await runCode(client, context, 'javascript', 'x + 1')
        expectTwo(
          name,
          events.map(outputOf).find(o => o !== undefined),
        )
        return at - t0
      }
      if (js)
        sides.push(
          // Not right after its own cell: a server just busy answered a /ping in half the time.
          { name: 'jrping', once: () => timed(() => fetch(`${jsRelay.url}/ping`).then(r => r.arrayBuffer())) },
          { name: 'js', once: jsCell('execd javascript', d, js) },
          { name: 'jrelay', once: jsCell('javascript relay', relayClient(jsRelay.url), js) },
        )
      if (node)
        sides.push(
          { name: 'nping', once: () => nodePing(node) },
          { name: 'ncell', once: () => nodeCell(node, id, 'python') },
          ...(js ? [{ name: 'njs', once: () => nodeCell(node, js, 'javascript') }] : []),
        )
      if (nodeRelay)
        sides.push(
          { name: 'nrping', once: () => nodePing(nodeRelay) },
          { name: 'nrelay', once: () => nodeCell(nodeRelay, id, 'python') },
        )
      if (nodeJsRelay && js)
        sides.push(
          { name: 'njrping', once: () => nodePing(nodeJsRelay) },
          { name: 'njrelay', once: () => nodeCell(nodeJsRelay, js, 'javascript') },
        )
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
      const cheap = sides.filter(s => s.name !== 'jupyter' && s.name !== 'nodelay')
      for (let i = 0; i < benchConfig.jitWarmup; i++) for (const side of cheap) await side.once()
      const samples = await interleave(sides, { reps: reps(200, 20), warmup: 5, budgetMs: 90_000, minReps: 20 })
      const ours = summarize(samples.execd ?? [])
      const pipe = summarize(samples.pipe ?? [])
      const ping = summarize(samples.ping ?? [])
      const nodeOurs = node ? summarize(samples.ncell ?? []) : null
      const rows: RowResult[] = []
      if (jupyter) {
        const base = summarize(samples.jupyter ?? [])
        rows.push({
          row: '1a',
          what: 'warm code round trip vs Jupyter',
          ours: figure(ours, 'ms'),
          baselineName: 'jupyter_server + ipykernel (WebSocket)',
          baseline: figure(base, 'ms'),
          ...speedup(ours.median, base.median, JUPYTER_TARGET),
        })
        if (nodeOurs)
          rows.push({
            row: '1a2',
            what: 'warm code round trip vs Jupyter, Node http client',
            ours: figure(nodeOurs, 'ms'),
            baselineName: 'jupyter_server + ipykernel (WebSocket)',
            baseline: figure(base, 'ms'),
            ...speedup(nodeOurs.median, base.median, JUPYTER_TARGET),
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
      const BUN_CLIENT = 'execd GET /ping, same client (Bun fetch)'
      const NODE_CLIENT = 'execd GET /ping, same Node keep-alive connection'
      /** A row of a warm cell against the same client's own /ping. */
      const vsPing = (row: string, what: string, cell: Summary, client: string, own: Summary): RowResult => ({
        row,
        what,
        ours: figure(cell, 'ms'),
        baselineName: client,
        baseline: figure(own, 'ms'),
        ...timeRatio(cell.median, own.median, PING_TARGET),
      })
      // The Bun client's HTTP floor of that ratio: a bare server answering the cell's body at once.
      const cannedCell = summarize(samples.ccell ?? [])
      const cannedPing = summarize(samples.cping ?? [])
      const httpFloor = `a bare compiled Bun.serve answering a cell's body at once (baselines/canned-cell.ts, no interpreter): ${cannedCell.median.toFixed(2)} ms, ${(cannedCell.median / cannedPing.median).toFixed(2)}× its /ping (${cannedPing.median.toFixed(2)} ms), the HTTP floor of this ratio with this client`
      rows.push({ ...vsPing('1d', 'warm python x + 1 vs own /ping', ours, BUN_CLIENT, ping), note: httpFloor })
      if (nodeOurs) {
        const nping = summarize(samples.nping ?? [])
        rows.push(vsPing('1e', 'warm python x + 1 vs own /ping, Node http client', nodeOurs, NODE_CLIENT, nping))
        if (js) {
          const njs = summarize(samples.njs ?? [])
          rows.push(vsPing('1g', 'warm javascript x + 1 vs own /ping, Node http client', njs, NODE_CLIENT, nping))
        }
      } else rows.push({ ...missingBaseline('1e', 'warm python x + 1 vs own /ping, Node http client', noNode!) })
      /** A row of a warm cell against the relay floor's, noting the floor's own cell over its /ping. */
      const vsRelay = (
        row: string,
        what: string,
        cell: Summary,
        relayCell: Summary,
        relayPing: Summary,
        interpreter = 'python over a socket',
        baselineName = 'bare compiled Bun.serve relaying the cell to a warm python over a socketpair, same client',
      ): RowResult => ({
        row,
        what,
        ours: figure(cell, 'ms'),
        baselineName,
        baseline: figure(relayCell, 'ms'),
        ...timeRatio(cell.median, relayCell.median),
        pass: null,
        note: `the relay's own cell is ${(relayCell.median / relayPing.median).toFixed(2)}× its /ping (${relayPing.median.toFixed(2)} ms): the floor of the cell-over-/ping ratio for any Bun daemon that runs the cell in a warm ${interpreter}`,
      })
      rows.push(
        vsRelay(
          '1h',
          'warm python x + 1 vs the relay floor',
          ours,
          summarize(samples.relay ?? []),
          summarize(samples.rping ?? []),
        ),
      )
      if (nodeOurs)
        rows.push(
          vsRelay(
            '1i',
            'warm python x + 1 vs the relay floor, Node http client',
            nodeOurs,
            summarize(samples.nrelay ?? []),
            summarize(samples.nrping ?? []),
          ),
        )
      if (js) {
        const jsOurs = summarize(samples.js ?? [])
        rows.push({ ...vsPing('1f', 'warm javascript x + 1 vs own /ping', jsOurs, BUN_CLIENT, ping), note: httpFloor })
        const JS_RELAY = 'bare compiled Bun.serve relaying the cell to a warm Bun over its IPC, same client'
        const viaIpc = 'Bun over its IPC (execd starts its javascript interpreter so)'
        const jsRelayCell = summarize(samples.jrelay ?? [])
        const jsRelayPing = summarize(samples.jrping ?? [])
        rows.push(
          vsRelay('1j', 'warm javascript x + 1 vs the relay floor', jsOurs, jsRelayCell, jsRelayPing, viaIpc, JS_RELAY),
        )
        if (nodeOurs && nodeJsRelay) {
          const njs = summarize(samples.njs ?? [])
          const njr = summarize(samples.njrelay ?? [])
          const njrPing = summarize(samples.njrping ?? [])
          rows.push(
            vsRelay(
              '1k',
              'warm javascript x + 1 vs the relay floor, Node http client',
              njs,
              njr,
              njrPing,
              viaIpc,
              JS_RELAY,
            ),
          )
        }
      } else rows.push(missingBaseline('1f', 'warm javascript x + 1 vs own /ping', 'javascript runtime not built'))
      return rows
    } finally {
      await Promise.allSettled([
        node?.stop(),
        nodeRelay?.stop(),
        nodeJsRelay?.stop(),
        jsRelay.stop(),
        canned.stop(),
        d.stop(),
        jupyter?.stop(),
        tuned?.stop(),
        python.stop(),
        relay.stop(),
      ])
    }
  },
} satisfies BenchRow
