/**
 * Row 5: file transfer of BENCH_BYTES (1 GiB). Download via `GET /files/download` vs nginx
 * serving the same file; upload via `POST /files/upload` (multipart, streamed from disk) vs
 * `dd` writing it — with fsync, as execd's atomic upload does (temp file, fsync, rename), and
 * without for the page-cache rate; execd's peak RSS during each.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { nginxMissing, startNginx } from '../baselines/nginx'
import { startUploadFloor } from '../baselines/upload-floor'
import { benchConfig, reps } from '../lib/config'
import { type Execd, requireRoute, startExecd } from '../lib/execd'
import { interleave, type Side } from '../lib/measure'
import { makeTempDir, removeTempDir, spawnTracked } from '../lib/procs'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, rateRatio } from '../lib/row'
import { PeakRss } from '../lib/rss'
import { drainCounting } from '../lib/sse'
import { summarize } from '../lib/stats'
import { uploadFile, uploadFileWithCurl } from '../lib/upload'
import { clientCpuSeconds, cpuSeconds } from '../lib/usage'

const MiB = 1024 * 1024
const UPLOAD_GROWTH_TARGET_MIB = 50

/** Runs `fn` with execd's peak RSS watched; returns MiB/s and records the peak growth. */
async function watched(d: Execd, bytes: number, growth: number[], fn: () => Promise<void>): Promise<number> {
  const peak = new PeakRss(d.pid).start()
  const t0 = performance.now()
  await fn()
  const secs = (performance.now() - t0) / 1000
  growth.push(peak.stop() - peak.before)
  return bytes / MiB / secs
}

/** CPU seconds per GiB uploaded: execd's (`user` of it in user mode) and the client's. */
interface UploadCpu {
  execd: number
  user: number
  client: number
}

/**
 * execd's CPU per GiB: the median, its user-mode part, and every run's. Most of it is the
 * kernel's copies (socket to execd, execd to the page cache), whose cost follows what else the
 * machine does: the same curl upload took 0.92 or 1.58 s per GiB minutes apart with the same system
 * calls, so one median alone told a busy machine from a slower execd no better than a guess.
 */
function execdCpuNote(cpu: UploadCpu[], who = 'execd'): string {
  const median = (f: (c: UploadCpu) => number) => summarize(cpu.map(f)).median.toFixed(2)
  return `${who} ${median(c => c.execd)} s (user ${median(c => c.user)} s; each: ${cpu.map(c => c.execd.toFixed(2)).join(', ')})`
}

async function exec(argv: string[]): Promise<void> {
  const proc = spawnTracked(argv, { stderr: 'pipe' })
  const code = await proc.exited
  if (code !== 0)
    throw new Error(
      `${argv.join(' ')}: exit ${code}: ${await new Response(proc.stderr as ReadableStream<Uint8Array>).text()}`,
    )
}

export default {
  id: '5',
  title: 'file transfer (download, upload)',
  async run(): Promise<RowResult[]> {
    const bytes = benchConfig.bytes
    const d = await startExecd()
    const dir = makeTempDir('files')
    try {
      await requireRoute(d, 'GET', '/files/info')
      const src = join(dir, 'big.bin')
      await exec(['bash', '-c', `head -c ${bytes} /dev/urandom > ${src}`])
      const size = `${(bytes / MiB).toFixed(0)} MiB`
      const rows: RowResult[] = []

      const downGrowth: number[] = []
      const download = async (url: string, headers: Record<string, string> = {}) => {
        const res = await fetch(url, { headers })
        if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`)
        const { bytes: got } = await drainCounting(res)
        if (got !== bytes) throw new Error(`GET ${url}: ${got} of ${bytes} bytes`)
      }
      const noNginx = nginxMissing()
      const nginx = noNginx ? null : await startNginx(dir)
      const downSides: Side[] = [
        {
          name: 'execd',
          once: () =>
            watched(d, bytes, downGrowth, () =>
              download(`${d.url}/files/download?path=${encodeURIComponent(src)}`, d.headers),
            ),
        },
      ]
      if (nginx)
        downSides.push({ name: 'nginx', once: () => watched(d, bytes, [], () => download(`${nginx.url}/big.bin`)) })
      const down = await interleave(downSides, { reps: reps(3, 2), warmup: 1, budgetMs: 90_000, minReps: 2 })
      await nginx?.stop()
      const oursDown = summarize(down.execd ?? [])
      if (nginx) {
        const base = summarize(down.nginx ?? [])
        rows.push({
          row: '5a',
          what: `download ${size}`,
          ours: figure(oursDown, 'MiB/s'),
          baselineName: 'nginx (sendfile)',
          baseline: figure(base, 'MiB/s'),
          ...rateRatio(oursDown.median, base.median, 0.8),
        })
      } else rows.push({ row: '5a', what: `download ${size}`, ours: figure(oursDown, 'MiB/s'), skipped: noNginx! })
      rows.push({
        row: '5b',
        what: 'execd peak RSS growth, download',
        ours: { median: Math.max(...downGrowth), unit: 'MiB' },
        pass: null,
      })

      const curl = Bun.which('curl')
      const upGrowth: number[] = []
      // CPU seconds per GiB uploaded, execd's and the client's (each client's own): which side
      // limited the rate, and what execd itself spends.
      const upCpu: UploadCpu[] = []
      const curlCpu: UploadCpu[] = []
      const floorCpu: UploadCpu[] = []
      /** One curl upload to `upDest`, its rate; the server's CPU per GiB (`pid`'s) and curl's into `into`. */
      const curlUpload = async (pid: number, into: UploadCpu[], upload: () => Promise<number>) => {
        rmSync(upDest, { force: true })
        const before = cpuSeconds(pid)
        let client = 0
        const rate = await watched(d, bytes, [], async () => {
          client = await upload()
        })
        const after = cpuSeconds(pid)
        into.push({
          execd: (after.own - before.own) / gib,
          user: (after.user - before.user) / gib,
          client: client / gib,
        })
        return rate
      }
      const floor = curl ? await startUploadFloor() : null
      const gib = bytes / 2 ** 30
      const upDest = join(dir, 'up-execd.bin')
      const ddDest = join(dir, 'up-dd.bin')
      const up = await interleave(
        [
          {
            name: 'execd',
            once: async () => {
              rmSync(upDest, { force: true })
              const [execd0, client0] = [cpuSeconds(d.pid), clientCpuSeconds()]
              const rate = await watched(d, bytes, upGrowth, () => uploadFile(d, src, upDest, bytes))
              const execd1 = cpuSeconds(d.pid)
              upCpu.push({
                execd: (execd1.own - execd0.own) / gib,
                user: (execd1.user - execd0.user) / gib,
                client: (clientCpuSeconds() - client0) / gib,
              })
              return rate
            },
          },
          {
            name: 'dd',
            once: async () => {
              rmSync(ddDest, { force: true })
              return watched(d, bytes, [], () =>
                exec(['dd', `if=${src}`, `of=${ddDest}`, 'bs=1M', 'conv=fsync', 'status=none']),
              )
            },
          },
          ...(curl
            ? [
                {
                  name: 'curl',
                  once: () => curlUpload(d.pid, curlCpu, () => uploadFileWithCurl(d, curl, dir, src, upDest, bytes)),
                },
              ]
            : []),
          ...(curl && floor
            ? [
                {
                  name: 'floor',
                  once: () =>
                    curlUpload(floor.pid, floorCpu, () =>
                      uploadFileWithCurl({ url: floor.url, headers: {} }, curl, dir, src, upDest, bytes, { raw: true }),
                    ),
                },
              ]
            : []),
          {
            name: 'cached',
            once: async () => {
              rmSync(ddDest, { force: true })
              return watched(d, bytes, [], () => exec(['dd', `if=${src}`, `of=${ddDest}`, 'bs=1M', 'status=none']))
            },
          },
        ],
        { reps: reps(3, 2), budgetMs: 90_000, minReps: 2 },
      )
      await floor?.stop()
      const oursUp = summarize(up.execd ?? [])
      const dd = summarize(up.dd ?? [])
      const cached = summarize(up.cached ?? [])
      const growth = Math.max(...upGrowth)
      rows.push({
        row: '5c',
        what: `upload ${size}`,
        ours: figure(oursUp, 'MiB/s'),
        baselineName: 'dd bs=1M conv=fsync',
        baseline: figure(dd, 'MiB/s'),
        ...rateRatio(oursUp.median, dd.median, 0.6),
        pass: null,
        note:
          `dd without fsync (page cache only): ${cached.median.toFixed(0)} MiB/s, ${(oursUp.median / cached.median).toFixed(2)}× of it; ` +
          `CPU per GiB uploaded: ${execdCpuNote(upCpu)}, ` +
          `the client ${summarize(upCpu.map(c => c.client)).median.toFixed(2)} s (medians).`,
      })
      rows.push({
        row: '5d',
        what: 'execd peak RSS growth, upload',
        ours: { median: growth, unit: 'MiB' },
        target: `≤ ${UPLOAD_GROWTH_TARGET_MIB} MiB`,
        pass: growth <= UPLOAD_GROWTH_TARGET_MIB,
        note: `the largest of ${upGrowth.length} uploads; each: ${upGrowth.map(g => g.toFixed(0)).join(', ')} MiB over the RSS before it.`,
      })
      if (curl) {
        const viaCurl = summarize(up.curl ?? [])
        rows.push({
          row: '5e',
          what: `upload ${size}, curl -F client`,
          ours: figure(viaCurl, 'MiB/s'),
          baselineName: 'dd bs=1M conv=fsync',
          baseline: figure(dd, 'MiB/s'),
          ...rateRatio(viaCurl.median, dd.median, 0.6),
          note:
            'the primary upload figure: curl costs about half the CPU of the Bun fetch client of 5c, ' +
            'so on a small machine the rate says more about execd than about the two competing for the cores; ' +
            `CPU per GiB uploaded: ${execdCpuNote(curlCpu)}, ` +
            `curl ${summarize(curlCpu.map(c => c.client)).median.toFixed(2)} s (medians).`,
        })
      } else rows.push({ row: '5e', what: `upload ${size}, curl -F client`, skipped: 'no curl on PATH' })
      if (curl && floor) {
        const viaCurl = summarize(up.curl ?? [])
        const base = summarize(up.floor ?? [])
        rows.push({
          row: '5f',
          what: `upload ${size}, curl -F client, vs the Bun floor`,
          ours: figure(viaCurl, 'MiB/s'),
          baselineName: 'compiled Bun.serve writing the raw body to a temp file, fsync, rename, same client',
          baseline: figure(base, 'MiB/s'),
          ...rateRatio(viaCurl.median, base.median),
          note:
            "what execd adds to what any Bun daemon pays for an upload (Bun's body stream, the kernel's copies, the disk); " +
            `CPU per GiB uploaded: ${execdCpuNote(floorCpu, 'the floor')}, execd's in 5e.`,
        })
      } else rows.push({ row: '5f', what: `upload ${size}, vs the Bun floor`, skipped: 'no curl on PATH' })
      return rows
    } finally {
      await d.stop()
      removeTempDir(dir)
    }
  },
} satisfies BenchRow
