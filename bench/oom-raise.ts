/**
 * The CPU of the oom raise's parts (core/oom-adj.ts), each in a loop on a live command of a
 * running execd: finding what the child made by the walk down /proc (its task directory, each
 * thread's `children`), finding it by one read of its cgroup leaf's `cgroup.procs` kept open, and
 * the value's own write (open, write, close). Per call, user and kernel time of this process.
 * Needs cgroup v2 leaves (execd's default where the hierarchy is writable). Not run by `make bench`.
 *
 *   bun run bench/oom-raise.ts [calls=20000] [rounds=3]
 */
import { closeSync, constants, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { requireCommands } from './lib/command'
import { startExecd } from './lib/execd'
import { runThenClean, waitFor } from './lib/procs'

const calls = Number(process.argv[2] ?? 20000)
const rounds = Number(process.argv[3] ?? 3)

/** The pid of the daemon's child running `sleep <tag>`. */
function sleeperOf(daemon: number, tag: string): number | undefined {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1')
      if (stat.includes(`(sleep) S ${daemon} `) && readFileSync(`/proc/${p}/cmdline`, 'latin1') === `sleep\0${tag}\0`)
        return Number(p)
    } catch {}
  }
  return undefined
}

/** Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or …/unified beside v1's). */
function cgroup2Mount(): string {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find(l => l.split(' - ')[1]?.startsWith('cgroup2 '))
  return line?.split(' ')[4] ?? '/sys/fs/cgroup'
}

async function main(): Promise<void> {
  const d = await startExecd()
  await requireCommands(d)
  const tag = `${60 + Math.floor(Math.random() * 1000)}.5`
  await d.post('/command', { command: `exec sleep ${tag}`, background: true })
  let pid: number | undefined
  await waitFor('the command', async () => (pid = sleeperOf(d.pid, tag)) !== undefined, 10_000, 20)
  const leaf = readFileSync(`/proc/${pid}/cgroup`, 'latin1')
    .split('\n')
    .find(l => l.startsWith('0::'))
    ?.slice(3)
  if (!leaf || !/\/execd-\d+-[0-9a-f]+\/\d+$/.test(leaf))
    throw new Error(`the command has no leaf of execd's (${leaf})`)
  const procs = openSync(join(cgroup2Mount(), leaf, 'cgroup.procs'), 'r')
  const small = Buffer.alloc(4096)
  const value = readFileSync(`/proc/${pid}/oom_score_adj`, 'latin1')
  const ways: Record<string, () => unknown> = {
    'walk (task dir + children)': () => {
      for (const t of readdirSync(`/proc/${pid}/task`)) readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1')
    },
    'leaf (kept cgroup.procs)': () =>
      small.toString('latin1', 0, readSync(procs, small, 0, small.length, 0)).split('\n'),
    'write (open, write, close)': () => {
      const fd = openSync(`/proc/${pid}/oom_score_adj`, constants.O_WRONLY)
      writeSync(fd, value)
      closeSync(fd)
    },
  }
  console.log(
    `µs of CPU per call (${calls} calls after 1,000; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`,
  )
  for (let round = 1; round <= rounds; round++) {
    for (const [name, f] of Object.entries(ways)) {
      for (let i = 0; i < 1000; i++) f()
      const start = process.cpuUsage()
      for (let i = 0; i < calls; i++) f()
      const used = process.cpuUsage(start)
      console.log(
        `round ${round}  ${name.padEnd(28)} ${((used.user + used.system) / calls).toFixed(2).padStart(6)}  (kernel ${(used.system / calls).toFixed(2)})`,
      )
    }
  }
  closeSync(procs)
}

await runThenClean(main)
