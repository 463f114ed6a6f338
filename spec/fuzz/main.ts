/**
 * `make fuzz`: the long run. FUZZ_SECONDS (default 300), FUZZ_SEED, FUZZ_PING_MS (the /ping
 * bound; default 100 ms on a quiet machine, scaled by the run's highest load per core above 1),
 * FUZZ_LANES (requests in flight, default 4; 1 pins an escape on its case),
 * FUZZ_RACE_WEIGHT / FUZZ_RUNTIME_WEIGHT (how often racing sequences and runtime context cases
 * come against an operation's 4; defaults 10 and 1 per runtime served: java, go, sql, Jupyter's snake);
 * FUZZ_JUPYTER=0 starts no Jupyter server; FUZZ_QUIET_SECONDS (default 60; 0: only at the end) how often the
 * lanes stop for the quiescence check (quiescence.ts: every capped pool drains once no client is left).
 * Prints the counts and every distinct failure; exits 1 on any.
 */
import { stopRaceDaemons } from './races'
import { runCampaign } from './campaign'
import { stderrFailures } from './check'
import { drained } from './quiescence'
import { runRegressions } from './regressions'
import { formatFinding, seedFromEnv, summary, upstreams } from './report'
import { childrenOf } from '../harness'
import { escapes, openWorld, removeCreated, snapshot } from './world'
import { loadavg, availableParallelism } from 'node:os'

// A /ping held 100 ms on a quiet machine is a blocked event loop; on a machine loaded past its
// cores the same loop waits its turn for the CPU, so the default bound grows with the highest
// load per core seen (sampled at the start and at the check). FUZZ_PING_MS fixes it instead.
let loadPerCore = 1
function pingBound(): number {
  if (process.env.FUZZ_PING_MS) return Number(process.env.FUZZ_PING_MS)
  loadPerCore = Math.max(loadPerCore, (loadavg()[0] ?? 0) / availableParallelism())
  return Math.round(100 * loadPerCore)
}
function pingBoundText(): string {
  const ms = pingBound()
  return process.env.FUZZ_PING_MS
    ? `${ms} ms (FUZZ_PING_MS)`
    : `${ms} ms (100 ms × load per core ${loadPerCore.toFixed(2)}, at least 1)`
}

const seconds = Number(process.env.FUZZ_SECONDS ?? 300)
const seed = seedFromEnv()
console.log(`fuzz: seed ${seed}, ${seconds} s, /ping bound ${pingBoundText()}`)

const up = await upstreams()
// FUZZ_JUPYTER=0 leaves the Jupyter server out (its kernels are the bridge's cases).
const world = await openWorld({ jupyter: process.env.FUZZ_JUPYTER !== '0' })
let failed = false
try {
  const regressions = await runRegressions(world)
  if (world.daemon.proc.exitCode !== null) await world.restart()
  const campaign = await runCampaign(world, up, {
    seconds,
    seed,
    lanes: Number(process.env.FUZZ_LANES ?? 4),
    requestMs: 10_000,
    raceWeight: process.env.FUZZ_RACE_WEIGHT ? Number(process.env.FUZZ_RACE_WEIGHT) : undefined,
    runtimeWeight: process.env.FUZZ_RUNTIME_WEIGHT ? Number(process.env.FUZZ_RUNTIME_WEIGHT) : undefined,
    quietEveryMs: Number(process.env.FUZZ_QUIET_SECONDS ?? 60) * 1000,
  })
  const ping = await world.stopPinger()
  if (!(await world.settled())) await world.restart()
  const escaped = escapes(world.before, snapshot(world.layout))
  const stderr = stderrFailures(world.daemon.logs())
  console.log(summary(campaign, ping, regressions))
  if (escaped.length) console.log(`fuzz: changes beside the root:\n  ${escaped.slice(0, 40).join('\n  ')}`)
  if (stderr.length) console.log(`fuzz: stderr:\n  ${stderr.join('\n  ')}`)
  if (world.crashes.length)
    console.log(`fuzz: ${world.crashes.length} crash(es), restarted each time:\n  ${world.crashes.join('\n  ')}`)
  // What the fuzz created is deleted; what the daemon still runs after that (commands end in
  // 0.1 s) is either a kept interpreter or something it lost track of, and a zombie is a bug.
  await removeCreated(world.daemon, world.created)
  await Bun.sleep(3000)
  // Every client has left and what the fuzz made is deleted: every pool must drain.
  const leaks = await drained(world, campaign.spans, 20_000)
  console.log(
    `fuzz: quiescence: ${campaign.quiet} check(s) within the campaign passed (the lanes stood ${campaign.quietMs} ms for them); at the end ${leaks.length ? 'held slots:' : 'every pool drained'}`,
  )
  for (const f of leaks) console.log(formatFinding(f))
  const left = childrenOf(world.daemon.proc.pid)
  const zombies = left.filter(p => p.state === 'Z')
  if (left.length)
    console.log(
      `fuzz: ${left.length} child process(es) left after cleanup:\n  ${left.map(p => `${p.pid} ${p.state} ${p.cmd.slice(0, 120)}`).join('\n  ')}`,
    )
  const alive = world.daemon.proc.exitCode === null
  if (!alive) console.log(`fuzz: execd exited (${world.daemon.proc.exitCode})`)
  if (ping.max > pingBound()) console.log(`fuzz: the slowest /ping is over the bound (${pingBoundText()})`)
  failed =
    !alive ||
    world.crashes.length > 0 ||
    ping.max > pingBound() ||
    escaped.length > 0 ||
    stderr.length > 0 ||
    zombies.length > 0 ||
    leaks.length > 0 ||
    campaign.findings.some(f => f.kind !== 'known') ||
    regressions.length > 0
} finally {
  await stopRaceDaemons()
  const code = await world.close()
  up.stop()
  console.log(`fuzz: execd stopped (exit ${code})`)
}
process.exit(failed ? 1 : 0)
