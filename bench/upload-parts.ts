/**
 * Uploads' durable writes, two builds taking turns: one request of many small file parts (files/s,
 * where each file's wait for the disk dominates) and one request of a single large part (MiB/s,
 * curl as the client when installed, as row 5e). Not run by `make bench`. Beside the rates, execd's
 * CPU per small file (all its threads, and its main thread alone): on a loaded machine a side's
 * rate moves with the others' fsyncs, its CPU far less.
 *
 *   bun run bench/upload-parts.ts [rounds=5] [files=1000] [file bytes=1024] [large MiB=1024, 0: none]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Execd, startExecd } from './lib/execd'
import { hasExecutable, makeTempDir, runThenClean } from './lib/procs'
import { percentile } from './lib/stats'
import { uploadFile, uploadFileWithCurl } from './lib/upload'
import { threadCpuMs } from './lib/usage'

const rounds = Number(process.argv[2] ?? 5)
const files = Number(process.argv[3] ?? 1000)
const fileBytes = Number(process.argv[4] ?? 1024)
const largeMiB = Number(process.argv[5] ?? 1024)

interface Side {
  name: string
  d: Execd
  filesPerSecond: number[]
  mibPerSecond: number[]
  /** execd's CPU µs per small file: all threads, the main thread. */
  cpuPerFile: number[]
  mainPerFile: number[]
}

/** One multipart body of `files` parts of `fileBytes` each, into `dir` (the SDK's shape: metadata, then file). */
function manyPartsBody(dir: string, boundary: string): string {
  const content = 'x'.repeat(fileBytes)
  let body = ''
  for (let i = 0; i < files; i++) {
    body +=
      `--${boundary}\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n` +
      `Content-Type: application/json\r\n\r\n${JSON.stringify({ path: join(dir, `f${i}`) })}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n${content}\r\n`
  }
  return `${body}--${boundary}--\r\n`
}

async function manyParts(s: Side, work: string, r: number): Promise<void> {
  const dir = join(work, `${s.name}-${r}`)
  mkdirSync(dir)
  const boundary = `bench${crypto.randomUUID().replace(/-/g, '')}`
  const body = manyPartsBody(dir, boundary)
  const cpu0 = threadCpuMs(s.d.pid)
  const t0 = performance.now()
  const res = await s.d.fetch('/files/upload', {
    method: 'POST',
    body,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  })
  const text = await res.text()
  const seconds = (performance.now() - t0) / 1000
  const cpu1 = threadCpuMs(s.d.pid)
  if (res.status !== 200) throw new Error(`${s.name}: POST /files/upload: ${res.status} ${text.slice(0, 300)}`)
  if (Bun.file(join(dir, `f${files - 1}`)).size !== fileBytes) throw new Error(`${s.name}: the last file is wrong`)
  s.filesPerSecond.push(files / seconds)
  s.cpuPerFile.push(((cpu1.all - cpu0.all) * 1000) / files)
  s.mainPerFile.push(((cpu1.main - cpu0.main) * 1000) / files)
  rmSync(dir, { recursive: true, force: true })
}

async function largePart(s: Side, work: string, src: string): Promise<void> {
  const dest = join(work, `${s.name}-large.bin`)
  const bytes = largeMiB << 20
  const t0 = performance.now()
  if (hasExecutable('curl')) await uploadFileWithCurl(s.d, 'curl', work, src, dest, bytes)
  else await uploadFile(s.d, src, dest, bytes)
  s.mibPerSecond.push(largeMiB / ((performance.now() - t0) / 1000))
  rmSync(dest, { force: true })
}

async function main(): Promise<void> {
  const work = makeTempDir('upload-parts')
  const src = join(work, 'large.src')
  const block = Buffer.alloc(1 << 20, 'y')
  writeFileSync(src, '')
  for (let i = 0; i < largeMiB; i++) writeFileSync(src, block, { flag: 'a' })
  const side = async (name: string, bin?: string): Promise<Side> => ({
    name,
    d: await startExecd({ bin }),
    filesPerSecond: [],
    mibPerSecond: [],
    cpuPerFile: [],
    mainPerFile: [],
  })
  const sides: Side[] = [await side('new')]
  const before = process.env.BENCH_EXECD_BEFORE
  if (before) sides.push(await side('before', before))
  try {
    // One untimed upload of each kind first: a fresh execd's first upload pays its JIT.
    for (const s of sides) await manyParts({ ...s, filesPerSecond: [], cpuPerFile: [], mainPerFile: [] }, work, -1)
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...sides].reverse() : sides
      for (const s of order) await manyParts(s, work, r)
      if (largeMiB > 0) for (const s of order) await largePart(s, work, src)
    }
    const med = (xs: number[]) => percentile(xs, 0.5)
    for (const s of sides) {
      const each = (xs: number[]) => xs.map(x => x.toFixed(0)).join(', ')
      console.log(
        `${s.name}: ${files} × ${fileBytes} B: ${med(s.filesPerSecond).toFixed(0)} files/s (${each(s.filesPerSecond)}), ` +
          `execd CPU ${med(s.cpuPerFile).toFixed(0)} µs a file (${each(s.cpuPerFile)}), main thread ` +
          `${med(s.mainPerFile).toFixed(0)} µs (${each(s.mainPerFile)})` +
          (largeMiB > 0 ? `; ${largeMiB} MiB: ${med(s.mibPerSecond).toFixed(0)} MiB/s (${each(s.mibPerSecond)})` : ''),
      )
    }
    if (sides.length === 2) {
      type Figure = 'filesPerSecond' | 'mibPerSecond' | 'cpuPerFile' | 'mainPerFile'
      const ratio = (k: Figure) => (med(sides[0]![k]) / med(sides[1]![k])).toFixed(2)
      console.log(
        `new/before (medians of ${rounds} rounds): files/s ${ratio('filesPerSecond')}, CPU a file ` +
          `${ratio('cpuPerFile')}, main thread ${ratio('mainPerFile')}` +
          (largeMiB > 0 ? `, MiB/s ${ratio('mibPerSecond')}` : ''),
      )
    }
  } finally {
    for (const s of sides) await s.d.stop()
  }
}

await runThenClean(main)
