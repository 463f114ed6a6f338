/**
 * Row 8: `GET /metrics` latency (the reference blocks each request for a 1 s CPU sample),
 * against nginx serving a static file of the same size — the loopback HTTP floor — with
 * execd's own `/ping` beside it.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { nginxMissing, startNginx } from '../baselines/nginx'
import { reps } from '../lib/config'
import { requireRoute, startExecd } from '../lib/execd'
import { interleave, timed } from '../lib/measure'
import { makeTempDir, removeTempDir } from '../lib/procs'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, timeRatio } from '../lib/row'
import { summarize } from '../lib/stats'

export default {
  id: '8',
  title: 'GET /metrics latency',
  async run(): Promise<RowResult[]> {
    const d = await startExecd()
    const dir = makeTempDir('metrics')
    try {
      await requireRoute(d, 'GET', '/metrics')
      const body = await (await d.fetch('/metrics')).text()
      JSON.parse(body)
      writeFileSync(join(dir, 'metrics.json'), body)
      const noNginx = nginxMissing()
      const nginx = noNginx ? null : await startNginx(dir)
      const get = (url: string, init?: RequestInit) =>
        timed(async () => {
          const res = await fetch(url, init)
          await res.arrayBuffer()
          if (res.status !== 200) throw new Error(`${url}: ${res.status}`)
        })
      const sides = [
        { name: 'metrics', once: () => get(`${d.url}/metrics`, { headers: d.headers }) },
        { name: 'ping', once: () => get(`${d.url}/ping`, { headers: d.headers }) },
        ...(nginx ? [{ name: 'nginx', once: () => get(`${nginx.url}/metrics.json`) }] : []),
      ]
      const samples = await interleave(sides, { reps: reps(2000, 100), warmup: 20, budgetMs: 30_000, minReps: 100 })
      await nginx?.stop()
      const ours = summarize(samples.metrics ?? [])
      const ping = summarize(samples.ping ?? [])
      const rows: RowResult[] = []
      if (nginx) {
        const base = summarize(samples.nginx ?? [])
        rows.push({
          row: '8a',
          what: 'GET /metrics',
          ours: figure(ours, 'ms'),
          baselineName: `nginx static ${body.length} B file`,
          baseline: figure(base, 'ms'),
          ...timeRatio(ours.median, base.median),
          pass: null,
          note: 'no target in the issue; the reference execd blocks every /metrics request for about 1 s.',
        })
      } else rows.push({ row: '8a', what: 'GET /metrics', ours: figure(ours, 'ms'), pass: null, note: noNginx! })
      rows.push({
        row: '8b',
        what: 'GET /metrics vs own /ping',
        ours: figure(ours, 'ms'),
        baselineName: 'execd GET /ping',
        baseline: figure(ping, 'ms'),
        ...timeRatio(ours.median, ping.median),
        pass: null,
      })
      return rows
    } finally {
      await d.stop()
      removeTempDir(dir)
    }
  },
} satisfies BenchRow
