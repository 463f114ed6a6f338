/**
 * Where execd's memory goes through a series of floods (row 4a's command, 1 KiB lines), one
 * after another in one daemon: RssAnon and RssFile before, at the peak (20 ms samples) and
 * 200 ms after each, with VmHWM; `ping` (20 /ping, the first requests' cost) and `true` (20
 * `/command true`) between them say what they add. A `bash` flood runs as a cell of one bash
 * context, made before the first (its cost, and the mappings it grew, printed then). Row 12b
 * judges only the peak; this says whether a flood's memory is what it holds while it runs
 * (RssAnon's rise) or what execd kept since (its level before the next). Not run by `make bench`.
 *
 *   bun run bench/flood-memory.ts [MiB per flood=1024] [steps=ping,bash,bash,bash]
 *   BENCH_TIMELINE=1   also each flood's RssAnon every 20 ms, in MiB
 *   BENCH_PEAK_REGIONS=1  also which anonymous mappings grew by 1 MiB or more from before a
 *                      flood to its highest sample (by address: they have no names)
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { startExecd } from './lib/execd'
import { createContext } from './lib/code'
import { drainCounting } from './lib/sse'
import { floodCommand } from './rows/r4-output-throughput'

const mib = Number(process.argv[2] ?? 1024)
const steps = (process.argv[3] ?? 'ping,bash,bash,bash').split(',')
const bytes = mib * 1024 * 1024
const kB = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
function snap(pid: number) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8')
  return { anon: kB(text, 'RssAnon') / 1024, file: kB(text, 'RssFile') / 1024, hwm: kB(text, 'VmHWM') / 1024 }
}
const f1 = (x: number) => x.toFixed(1)
const settle = () => new Promise(r => setTimeout(r, 200))

/** Resident kB by mapping (file and permissions, or [anon]). */
function mappings(pid: number): Map<string, number> {
  const sums = new Map<string, number>()
  let key = ''
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) (\S+) \S+ \S+\s*(.*)$/.exec(line)
    if (head) key = `${head[3] || '[anon]'} ${head[1]} @${head[2]}`
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss) sums.set(key, (sums.get(key) ?? 0) + Number(rss[1]))
  }
  return sums
}

/** Resident anonymous kB by mapping's address range (size in MiB beside it): which regions a peak grew. */
function anonRegions(pid: number): Map<string, number> {
  const sums = new Map<string, number>()
  let key = ''
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (head) {
      const size = (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1048576
      key = head[3] ? '' : `${head[1]} (${f1(size)} MiB)`
    }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line)
    if (anon && key) sums.set(key, (sums.get(key) ?? 0) + Number(anon[1]))
  }
  return sums
}

const d = await startExecd()
const load = (await import('node:os')).loadavg()[0]!.toFixed(1)
console.log(`${steps.join(',')}, ${mib} MiB floods, load ${load}; MiB before → peak → after`)
try {
  let context = ''
  for (const step of steps) {
    const s = snap(d.pid)
    if (step === 'ping' || step === 'true') {
      for (let i = 0; i < 20; i++)
        await (step === 'true' ? d.post('/command', { command: 'true' }) : d.fetch('/ping')).then(r => r.text())
      await settle()
      const t = snap(d.pid)
      console.log(`${step.padEnd(8)} anon ${f1(s.anon)} → ${f1(t.anon)}, file ${f1(s.file)} → ${f1(t.file)}`)
      continue
    }
    if (step !== 'bash' && step !== 'command') throw new Error(`${step}: not ping, true, bash or command`)
    if (step === 'bash' && !context) {
      const m0 = mappings(d.pid)
      context = await createContext(d, 'bash')
      await settle()
      const t = snap(d.pid)
      console.log(`context  anon ${f1(s.anon)} → ${f1(t.anon)}, file ${f1(s.file)} → ${f1(t.file)}`)
      for (const [k, v] of mappings(d.pid))
        if (Math.abs(v - (m0.get(k) ?? 0)) >= 256) console.log(`  ${f1((v - (m0.get(k) ?? 0)) / 1024)} MiB ${k}`)
    }
    const before = snap(d.pid)
    const regions0 = process.env.BENCH_PEAK_REGIONS ? anonRegions(d.pid) : undefined
    let regionsAtPeak: Map<string, number> | undefined
    writeFileSync(`/proc/${d.pid}/clear_refs`, '5')
    const peak = { anon: 0, file: 0 }
    const timeline: string[] = []
    const timer = setInterval(() => {
      const x = snap(d.pid)
      if (regions0 && x.anon > peak.anon + 0.5) regionsAtPeak = anonRegions(d.pid)
      peak.anon = Math.max(peak.anon, x.anon)
      peak.file = Math.max(peak.file, x.file)
      if (process.env.BENCH_TIMELINE) timeline.push(x.anon.toFixed(0))
    }, 20)
    const t0 = performance.now()
    const res =
      step === 'command'
        ? await d.post('/command', { command: floodCommand(bytes) })
        : await d.post('/code', { code: floodCommand(bytes), context: { id: context, language: 'bash' } })
    const { bytes: wire } = await drainCounting(res, () => {})
    const secs = (performance.now() - t0) / 1000
    clearInterval(timer)
    const hwm = snap(d.pid).hwm
    if (wire < bytes) throw new Error(`${step}: ${wire} bytes on the wire for ${bytes} of output`)
    if (timeline.length) console.log(timeline.join(' '))
    if (regions0 && regionsAtPeak)
      for (const [k, v] of regionsAtPeak)
        if (v - (regions0.get(k) ?? 0) >= 1024)
          console.log(`  at the peak +${f1((v - (regions0.get(k) ?? 0)) / 1024)} MiB ${k}`)
    await settle()
    const after = snap(d.pid)
    console.log(
      `${step.padEnd(8)} ${f1(mib / secs).padStart(6)} MiB/s  VmHWM ${f1(hwm)}  ` +
        `anon ${f1(before.anon)} → ${f1(peak.anon)} → ${f1(after.anon)}  file ${f1(before.file)} → ${f1(peak.file)} → ${f1(after.file)}`,
    )
  }
} finally {
  await d.stop()
}
