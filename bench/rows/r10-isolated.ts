/**
 * Row 10: isolated sessions. Creating a bubblewrap session and running `true` in it (its first
 * run), and `true` in a live session, each next to a plain `POST /command` `true` in the same
 * run; and what one idle session costs in memory: the PSS of its processes (the bwrap monitor,
 * the sandbox's init and its bash, shared pages split fairly) and execd's own RSS growth; and
 * work inside a session (3,000 files by a builtin loop, rw and overlay) beside the same work in
 * plain bubblewrap with execd's own command line (lib/isolated-files.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { reps } from '../lib/config'
import { commandRoundTrip, requireCommands } from '../lib/command'
import { type Execd, Skip, startExecd } from '../lib/execd'
import { filesScript, loopMs, plainBwrap } from '../lib/isolated-files'
import { interleave, timed } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, missingBaseline, timeRatio } from '../lib/row'
import { rssMiB } from '../lib/rss'
import { commandEnded, readEvents } from '../lib/sse'
import { summarize } from '../lib/stats'

async function create(d: Execd, workspace: string, mode = 'rw'): Promise<string> {
  const res = await d.post('/v1/isolated/session', { workspace: { path: workspace, mode }, idle_timeout_seconds: 0 })
  if (res.status !== 201) throw new Error(`POST /v1/isolated/session: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { session_id: string }).session_id
}

async function runTrue(d: Execd, id: string): Promise<void> {
  const res = await d.post(`/v1/isolated/session/${id}/run`, { code: 'true' })
  if (res.status !== 200) throw new Error(`run: ${res.status} ${await res.text()}`)
  const { events } = await readEvents(res, commandEnded)
  if (events.at(-1)?.type !== 'execution_complete') throw new Error(`run ended with ${JSON.stringify(events.at(-1))}`)
}

/** The files loop's ms in a live session whose workspace is `ws`. */
async function filesIn(d: Execd, id: string, ws: string): Promise<number> {
  const res = await d.post(`/v1/isolated/session/${id}/run`, { code: filesScript(ws) })
  if (res.status !== 200) throw new Error(`run: ${res.status} ${await res.text()}`)
  const { events } = await readEvents(res, commandEnded)
  if (events.at(-1)?.type !== 'execution_complete')
    throw new Error(`files run ended with ${JSON.stringify(events.at(-1))}`)
  return loopMs(events.flatMap(e => (e.type === 'stdout' ? [(e as { text?: string }).text ?? ''] : [])).join('\n'))
}

/** 10d/10e: the files loop in a session of `mode` and in plain bwrap, taking turns. */
async function filesRow(d: Execd, workspace: string, mode: 'rw' | 'overlay', row: string): Promise<RowResult> {
  const what = `${FILES_WHAT} in an isolated session (${mode})`
  const plain = plainBwrap(mode)
  if (!plain) return missingBaseline(row, what, 'bwrap not on PATH')
  const id = await create(d, workspace, mode)
  try {
    const s = await interleave(
      [
        { name: 'session', once: () => filesIn(d, id, workspace) },
        { name: 'bwrap', once: () => plain.once() },
      ],
      { reps: reps(15, 5), warmup: 1, budgetMs: 40_000, minReps: 5 },
    )
    const [ours, base] = [summarize(s.session), summarize(s.bwrap)]
    return {
      row,
      what,
      ours: figure(ours, 'ms'),
      baselineName: `the same in plain bwrap, execd's command line (${mode})`,
      baseline: figure(base, 'ms'),
      ...timeRatio(ours.median, base.median),
      pass: null,
      note: 'the loop timed inside the shell ($EPOCHREALTIME): no HTTP, no sandbox start',
    }
  } finally {
    await remove(d, id)
    plain.remove()
  }
}

const FILES_WHAT = '3,000 files by `: > f$i`'

const remove = (d: Execd, id: string) => d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })

/** PSS in MiB of every process whose command line names `text`, and of their children. */
function pssOf(text: string): number {
  const procs = readdirSync('/proc').filter(e => /^\d+$/.test(e))
  const ppid = new Map<number, number>()
  const named = new Set<number>()
  for (const p of procs) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1')
      ppid.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
      if (readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(text)) named.add(Number(p))
    } catch {}
  }
  let kib = 0
  for (const [pid, parent] of ppid) {
    if (!named.has(pid) && !named.has(parent)) continue
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'))
      kib += Number(m?.[1] ?? 0)
    } catch {}
  }
  return kib / 1024
}

export default {
  id: '10',
  title: 'isolated session: create + run true, memory per session, files made inside',
  async run(): Promise<RowResult[]> {
    const workspace = mkdtempSync(join(tmpdir(), 'execd-bench-isolated-'))
    const d = await startExecd()
    try {
      await requireCommands(d)
      const caps = await d.fetch('/v1/isolated/capabilities')
      if (caps.status === 404) throw new Skip('section not built')
      const c = (await caps.json()) as { available: boolean; message?: string }
      if (!c.available) throw new Skip(`isolation unavailable: ${c.message}`)

      const live = await create(d, workspace)
      const samples = await interleave(
        [
          {
            name: 'create',
            once: async () => {
              let id = ''
              const ms = await timed(async () => {
                id = await create(d, workspace)
                await runTrue(d, id)
              })
              await remove(d, id)
              return ms
            },
          },
          { name: 'run', once: () => timed(() => runTrue(d, live)) },
          { name: 'command', once: () => commandRoundTrip(d) },
        ],
        { reps: reps(60, 15), warmup: 3, budgetMs: 40_000, minReps: 15 },
      )
      await remove(d, live)

      // Memory: N idle sessions at once.
      const n = 8
      const before = rssMiB(d.pid)
      const ids: string[] = []
      for (let i = 0; i < n; i++) ids.push(await create(d, workspace))
      const pss = ids.map(pssOf)
      const execdGrowth = (rssMiB(d.pid) - before) / n
      for (const id of ids) await remove(d, id)
      const perSession = summarize(pss)

      const files = [await filesRow(d, workspace, 'rw', '10d'), await filesRow(d, workspace, 'overlay', '10e')]

      const cmd = summarize(samples.command)
      const made = summarize(samples.create)
      const ran = summarize(samples.run)
      return [
        {
          row: '10a',
          what: 'create an isolated session + run true',
          ours: figure(made, 'ms'),
          baselineName: 'POST /command true',
          baseline: figure(cmd, 'ms'),
          ...timeRatio(made.median, cmd.median),
          pass: null,
        },
        {
          row: '10b',
          what: 'run true in a live isolated session',
          ours: figure(ran, 'ms'),
          baselineName: 'POST /command true',
          baseline: figure(cmd, 'ms'),
          ...timeRatio(ran.median, cmd.median),
          pass: null,
        },
        {
          row: '10c',
          what: 'memory of one idle isolated session (PSS of bwrap, init, bash)',
          ours: figure(perSession, 'MiB'),
          pass: null,
          note: `execd RSS +${execdGrowth.toFixed(2)} MiB per session (${n} sessions)`,
        },
        ...files,
      ]
    } finally {
      await d.stop()
      rmSync(workspace, { recursive: true, force: true })
    }
  },
} satisfies BenchRow
