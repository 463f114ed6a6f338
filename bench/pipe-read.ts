/**
 * Would a real pipe for a command's stdout be cheaper than Bun.spawn's "pipe", a socketpair?
 * Writing into a socketpair costs the command more than writing into a pipe (skb allocation,
 * memory-cgroup charges), so the whole cost is measured: the writer's CPU and the reader's, per
 * MiB, and the rate, for row 4a's flood (`yes` of 1 KiB lines `| head -c`), in rounds that
 * take turns between the ways of reading it:
 *
 *   socket     Bun.spawn's default stdout (a socketpair), read with its stream's reader, as
 *              execd's command runner reads it (plugins/command/run.ts pump)
 *   pipe       pipe2(O_CLOEXEC) through bun:ffi, F_SETPIPE_SZ 1 MiB, the write end given to
 *              Bun.spawn as the child's stdout and closed here; the read end read with
 *              `Bun.file(fd).stream()`'s reader
 *   pipe-64k   the same at the pipe's default 64 KiB
 *   pipe-fs    the 1 MiB pipe read with an `fs.read` loop into one 256 KiB buffer (each read a
 *              blocking read(2) on libuv's thread pool)
 *
 * Writer CPU is the reaped children's (bash waits for `yes` and `head`, this process for bash:
 * /proc/self/stat cutime + cstime, 10 ms ticks), reader CPU this process's own (all threads).
 * The measuring part runs compiled with dist/execd's flags (bench/lib/compile.ts), as execd
 * does; this file compiles itself and runs that. Not run by `make bench`.
 *
 *   bun run bench/pipe-read.ts [rounds=3] [MiB per flood=512] [ways=socket,pipe,pipe-64k,pipe-fs]
 */
import { readFileSync, read as fsRead } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { libcFile } from '../core/libc'

const CHILD = 'EXECD_BENCH_PIPE_READ_CHILD'

if (process.env[CHILD]) await measure()
else await compileAndRun()

async function compileAndRun(): Promise<void> {
  const { compileLikeExecd } = await import('./lib/compile')
  const { makeTempDir } = await import('./lib/procs')
  const dir = makeTempDir('pipe-read')
  const bin = await compileLikeExecd(join(import.meta.dir, 'pipe-read.ts'), dir, 'pipe-read')
  const p = Bun.spawn([bin, ...process.argv.slice(2)], {
    env: { ...process.env, [CHILD]: '1' },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  process.exitCode = await p.exited
}

async function measure(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3)
  const mib = Number(process.argv[3] ?? 512)
  const ways = (process.argv[4] ?? 'socket,pipe,pipe-64k,pipe-fs').split(',')
  const bytes = mib * 1024 * 1024
  const command = `yes "$(printf '%01023d' 0)" | head -c ${bytes}`
  const bash = Bun.which('bash') ?? '/bin/bash'

  const { dlopen, FFIType, ptr } = await import('bun:ffi')
  const { symbols: libc } = dlopen(libcFile(), {
    pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  })
  const O_CLOEXEC = 0o2000000
  const F_SETPIPE_SZ = 1031

  const childrenCpuMs = () => {
    const s = readFileSync('/proc/self/stat', 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return (Number(f[13]) + Number(f[14])) * 10 // cutime, cstime: fields 16 and 17
  }
  const ownCpuMs = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }

  const readStream = async (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader()
    let n = 0
    for (;;) {
      const r = await reader.read()
      if (r.done) return n
      n += r.value.byteLength
    }
  }
  const readFs = (fd: number) =>
    new Promise<number>((resolve, reject) => {
      const buf = Buffer.allocUnsafe(256 * 1024)
      let n = 0
      const next = () =>
        fsRead(fd, buf, 0, buf.byteLength, null, (err, got) => {
          if (err) return reject(err)
          if (got === 0) return resolve(n)
          n += got
          next()
        })
      next()
    })

  const flood = async (way: string): Promise<number> => {
    if (way === 'socket') {
      const p = Bun.spawn([bash, '-c', command], { stdin: 'ignore', stdout: 'pipe', stderr: 'ignore' })
      const n = await readStream(p.stdout)
      await p.exited
      return n
    }
    const fds = new Int32Array(2)
    if (libc.pipe2(ptr(fds), O_CLOEXEC) !== 0) throw new Error('pipe2 failed')
    const [r, w] = [fds[0]!, fds[1]!]
    if (way !== 'pipe-64k' && libc.fcntl(w, F_SETPIPE_SZ, 1 << 20) < 0) throw new Error('F_SETPIPE_SZ failed')
    let p: ReturnType<typeof Bun.spawn>
    try {
      p = Bun.spawn([bash, '-c', command], { stdin: 'ignore', stdout: w, stderr: 'ignore' })
    } finally {
      libc.close(w) // the child has its copy; ours would keep the pipe from ending
    }
    const n = way === 'pipe-fs' ? await readFs(r) : await readStream(Bun.file(r).stream())
    if (way === 'pipe-fs') libc.close(r)
    await p.exited
    return n
  }

  const seen = new Map<string, { writer: number[]; reader: number[]; rate: number[] }>()
  console.log(`${mib} MiB floods, ${rounds} rounds, ways in turns (rotated): ${ways.join(', ')}`)
  await flood('socket') // warm: the first flood pays the JIT's tier-up
  for (let round = 0; round < rounds; round++) {
    const order = ways.map((_, i) => ways[(i + round) % ways.length]!)
    const line: string[] = []
    for (const way of order) {
      const c0 = childrenCpuMs()
      const o0 = ownCpuMs()
      const t0 = performance.now()
      const n = await flood(way)
      const ms = performance.now() - t0
      if (n !== bytes) throw new Error(`${way}: ${n} bytes, not ${bytes}`)
      const s = seen.get(way) ?? { writer: [], reader: [], rate: [] }
      seen.set(way, s)
      s.writer.push((childrenCpuMs() - c0) / mib)
      s.reader.push((ownCpuMs() - o0) / mib)
      s.rate.push(mib / (ms / 1000))
      line.push(
        `${way} w ${s.writer.at(-1)!.toFixed(2)} r ${s.reader.at(-1)!.toFixed(2)} ${s.rate.at(-1)!.toFixed(0)} MiB/s`,
      )
    }
    console.log(`round ${round + 1} (load ${loadavg()[0]!.toFixed(1)}): ${line.join(' | ')}`)
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`
  console.log('way        writer ms/MiB        reader ms/MiB        total (median)  MiB/s (median)')
  for (const [way, s] of seen) {
    console.log(
      `${way.padEnd(10)} ${med(s.writer).toFixed(2)} (${range(s.writer)})  ${med(s.reader).toFixed(2)} (${range(s.reader)})  ` +
        `${(med(s.writer) + med(s.reader)).toFixed(2)}            ${med(s.rate).toFixed(0)} (${range(s.rate)})`,
    )
  }
}
