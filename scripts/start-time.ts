/**
 * Start → first `/ping` of an executable, the figure behind the release's bytecode default:
 * `node_modules/.bin/bun scripts/start-time.ts <executable>… [--runs N]`. Each run spawns
 * `serve` on a free port and polls `/ping` every 2 ms; prints min / median / max per executable.
 */
const args = process.argv.slice(2)
const runsAt = args.indexOf('--runs')
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 15
if (args.length === 0) {
  // Named in the README as a measure to run: with no executable it printed nothing, exit 0.
  console.error('usage: node_modules/.bin/bun scripts/start-time.ts <executable>… [--runs N]')
  process.exit(2)
}

async function once(exe: string): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port
  probe.stop(true)
  const started = performance.now()
  const proc = Bun.spawn([exe, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    stdout: 'ignore',
    stderr: 'ignore',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '', EXECD_PYTHON_SPARE: '0' },
  })
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/ping`).then(
        r => r.status === 200,
        () => false,
      )
      if (ok) return performance.now() - started
      if (proc.exitCode !== null) throw new Error(`${exe} exited (${proc.exitCode})`)
      await Bun.sleep(2)
    }
  } finally {
    proc.kill('SIGKILL')
    await proc.exited
  }
}

for (const exe of args) {
  const times: number[] = []
  for (let i = 0; i < runs; i++) times.push(await once(exe))
  times.sort((a, b) => a - b)
  const ms = (n: number) => `${n.toFixed(0)} ms`
  const size = (Bun.file(exe).size / 2 ** 20).toFixed(1)
  console.log(
    `${exe}  ${size} MiB  start→/ping: min ${ms(times[0])}, median ${ms(times[times.length >> 1])}, max ${ms(times[times.length - 1])} (${runs} runs)`,
  )
}
