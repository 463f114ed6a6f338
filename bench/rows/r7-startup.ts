/**
 * Row 7: executable start to the first /ping answer, idle RSS and binary size — against a
 * Jupyter server (start to /api/status, idle RSS) and the bare Bun runtime's size; 7d is the
 * start against a minimal compiled `Bun.serve` executable, the floor of any Bun daemon; 7e is
 * the start to the first real operation against an earlier build (execd listens before it builds
 * its routes: 7e shows what the first operation pays for the earlier /ping).
 */
import { realpathSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { bunServeStartMs, buildBunServe } from '../baselines/bun-serve'
import { START_REF, buildExecdAt, firstOperationMs } from '../baselines/execd-ref'
import { jupyterMissing, startJupyter } from '../baselines/jupyter'
import { reps } from '../lib/config'
import { EXECD_BIN, startExecd } from '../lib/execd'
import { interleave } from '../lib/measure'
import { recache } from '../lib/page-cache'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, missingBaseline, speedup, timeRatio } from '../lib/row'
import { rssMiB, statusField } from '../lib/rss'
import { summarize } from '../lib/stats'

const START_TARGET_MS = 150
const RSS_TARGET_MIB = 80
const MiB = 1024 * 1024

/** RSS after the daemon has settled (its background sampler running), median of 5 reads. */
async function settledRss(pid: number): Promise<number> {
  return (await settledMemory(pid)).rss
}

/**
 * VmRSS and its anonymous part, settled. Most of execd's idle RSS is file-backed pages of its
 * 115 MiB executable, and how many the kernel maps depends on how the file got into the page
 * cache: two files of identical bytes read 48.0 and 52.0 MiB in the same minute. RssAnon is
 * what execd itself holds.
 */
async function settledMemory(pid: number): Promise<{ rss: number; anon: number }> {
  await Bun.sleep(1500)
  const rss: number[] = []
  const anon: number[] = []
  for (let i = 0; i < 5; i++) {
    rss.push(rssMiB(pid))
    anon.push(statusField(pid, 'RssAnon'))
    await Bun.sleep(100)
  }
  return { rss: summarize(rss).median, anon: summarize(anon).median }
}

export default {
  id: '7',
  title: 'start to first /ping and to a first operation, idle RSS, binary size',
  async run(): Promise<RowResult[]> {
    const noJupyter = jupyterMissing()
    const bunServe = await buildBunServe()
    // Both executables cached alike: the minimal server was just written by the compiler,
    // dist/execd may have been written, read or partly evicted since its build, and the folios
    // the kernel keeps a file in set how much each start maps per fault (lib/page-cache.ts).
    // BENCH_START_PAGES=asis leaves them as they are.
    const alike = process.env.BENCH_START_PAGES !== 'asis'
    if (alike) for (const bin of [bunServe, EXECD_BIN]) recache(bin)
    const execd = {
      name: 'execd',
      once: async () => {
        const d = await startExecd()
        await d.stop()
        return d.startMs
      },
    }
    const sides = [
      execd,
      ...(noJupyter
        ? []
        : [
            {
              name: 'jupyter',
              once: async () => {
                const j = await startJupyter()
                await j.stop()
                return j.startMs
              },
            },
          ]),
    ]
    const samples = await interleave(sides, { reps: reps(8), warmup: 1, budgetMs: 60_000, minReps: 3 })
    const ours = summarize(samples.execd ?? [])
    const rows: RowResult[] = []
    const startTarget = { target: `≤ ${START_TARGET_MS} ms`, pass: ours.median <= START_TARGET_MS }
    if (noJupyter)
      rows.push({ row: '7a', what: 'start → first /ping', ours: figure(ours, 'ms'), ...startTarget, note: noJupyter })
    else {
      const base = summarize(samples.jupyter ?? [])
      rows.push({
        row: '7a',
        what: 'start → first /ping',
        ours: figure(ours, 'ms'),
        baselineName: 'jupyter_server → /api/status',
        baseline: figure(base, 'ms'),
        ...speedup(ours.median, base.median),
        ...startTarget,
      })
    }

    // Its own turns, more of them: a start is ~10 ms on either side, and 8 medians of starts
    // that vary ±15% on this machine moved the ratio by 0.5 between runs minutes apart.
    const pair = await interleave([{ name: 'bunserve', once: () => bunServeStartMs(bunServe) }, execd], {
      reps: reps(40),
      warmup: 1,
      budgetMs: 60_000,
      minReps: 3,
    })
    const near = summarize(pair.execd ?? [])
    const floor = summarize(pair.bunserve ?? [])
    rows.push({
      row: '7d',
      what: 'start → first /ping vs a minimal Bun server',
      ours: figure(near, 'ms'),
      baselineName: 'compiled Bun.serve answering /ping',
      baseline: figure(floor, 'ms'),
      ...timeRatio(near.median, floor.median, 2),
    })

    const ref = buildExecdAt(START_REF)
    if ('missing' in ref) rows.push(missingBaseline('7e', 'start → first POST /command true answered', ref.missing))
    else {
      if (alike) for (const bin of [ref.bin, EXECD_BIN]) recache(bin)
      const first = await interleave(
        [
          { name: 'ours', once: () => firstOperationMs(EXECD_BIN) },
          { name: 'ref', once: () => firstOperationMs(ref.bin) },
        ],
        { reps: reps(8), warmup: 1, budgetMs: 60_000, minReps: 3 },
      )
      const mine = summarize(first.ours ?? [])
      const theirs = summarize(first.ref ?? [])
      rows.push({
        row: '7e',
        what: 'start → first POST /command true answered (to the end of its stream)',
        ours: figure(mine, 'ms'),
        baselineName: `the same with execd at ${START_REF} (every route built before listening)`,
        baseline: figure(theirs, 'ms'),
        ...timeRatio(mine.median, theirs.median),
      })
    }

    const d = await startExecd()
    const { rss: ourRss, anon: ourAnon } = await settledMemory(d.pid)
    await d.stop()
    const anonNote = `of it anonymous (RssAnon): ${ourAnon.toFixed(1)} MiB; the rest is file-backed pages of the executable, which vary with the page cache.`
    const rssTarget = { target: `≤ ${RSS_TARGET_MIB} MiB`, pass: ourRss <= RSS_TARGET_MIB }
    if (noJupyter)
      rows.push({
        ...missingBaseline('7b', 'idle RSS', noJupyter),
        ours: { median: ourRss, unit: 'MiB' },
        ...rssTarget,
        note: anonNote,
      })
    else {
      const j = await startJupyter()
      const jRss = await settledRss(j.pid)
      await j.stop()
      rows.push({
        row: '7b',
        what: 'idle RSS',
        ours: { median: ourRss, unit: 'MiB' },
        baselineName: 'jupyter_server (no kernel)',
        baseline: { median: jRss, unit: 'MiB' },
        ratio: ourRss / jRss,
        ratioLabel: '× the memory',
        ...rssTarget,
        note: anonNote,
      })
    }

    const size = statSync(EXECD_BIN).size / MiB
    const bun = realpathSync(join(import.meta.dir, '..', '..', 'node_modules', '.bin', 'bun'))
    const bunSize = statSync(bun).size / MiB
    rows.push({
      row: '7c',
      what: 'binary size',
      ours: { median: size, unit: 'MiB' },
      baselineName: 'bun runtime alone',
      baseline: { median: bunSize, unit: 'MiB' },
      ratio: size / bunSize,
      ratioLabel: '× the size',
      pass: null,
      note: `execd adds ${(size - bunSize).toFixed(1)} MiB of its own to the Bun runtime it embeds.`,
    })
    return rows
  },
} satisfies BenchRow
