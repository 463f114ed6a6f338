/**
 * execd in a v1 memory cgroup of its own, as a container with a memory limit runs it, for the
 * specs of what a full cgroup does (spec/oom-reserve, spec/oom-command). Needs root, a writable
 * v1 memory hierarchy and a tmpfs /dev/shm: each spec skips visibly with the reason otherwise.
 */
import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { memoryCgroup } from './memory-cgroup'
import { type Daemon, startDaemon, waitFor } from '../harness'

const shmIsTmpfs = () => / \/dev\/shm tmpfs /.test(readFileSync('/proc/mounts', 'latin1'))

/** A v1 memory cgroup limited to `limit`, beside the test's own; or why there is none. */
export function v1CgroupOrWhy(name: string, limit: number): string | { dir: string } {
  if (process.getuid?.() !== 0) return 'needs root'
  if (!shmIsTmpfs()) return '/dev/shm is not a tmpfs'
  const cg = memoryCgroup(name, limit)
  // v2 cannot hand execd's memory down to a cgroup of its children while execd is in it.
  if (typeof cg === 'string' || cg.version === 1) return cg
  rmdirSync(cg.dir)
  return 'the memory controller is v2 here'
}

export const procsOf = (dir: string): string => readFileSync(join(dir, 'cgroup.procs'), 'latin1').trim()

/** The same pid, entering `dir` before it runs `argv`. */
export const entering = (dir: string): string[] => ['sh', '-c', `echo $$ > ${dir}/cgroup.procs && exec "$@"`, 'sh']

/**
 * execd (`EXECD_BIN`, or this build) started inside the cgroup `dir`, `body` run against it with
 * a name in /dev/shm to fill; every trace of it gone after: the files, the daemon, its processes.
 */
export async function inCgroup(
  dir: string,
  body: (d: Daemon, file: string) => Promise<void>,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<void> {
  const file = `/dev/shm/execd-spec-full-${process.pid}-${crypto.randomUUID().slice(0, 8)}`
  const d = await startDaemon({
    under: entering(dir),
    bin: process.env.EXECD_BIN,
    args,
    env: { EXECD_PYTHON_SPARE: '0', ...env },
  })
  try {
    await body(d, file)
  } catch (err) {
    const events = readFileSync(join(dir, 'memory.oom_control'), 'latin1').replaceAll('\n', ', ')
    console.error(`execd exit ${d.proc.exitCode} signal ${d.proc.signalCode}; ${events}\n${d.logs().slice(-3000)}`)
    throw err
  } finally {
    for (const name of readdirSync('/dev/shm')) if (`/dev/shm/${name}`.startsWith(file)) rmSync(`/dev/shm/${name}`)
    if (d.proc.exitCode === null && d.proc.signalCode === null) await d.stop()
    await waitFor('the cgroup to empty', () => procsOf(dir) === '')
  }
}
