/**
 * What is done to one cgroup v2 directory by its path — kill all of it, list its processes, ask
 * whether it is empty, remove it (now or once the kernel lets go) — and where execd's own is.
 * core/cgroup.ts's tree of leaves uses these for its leaves and its own directory; core/ownership.ts
 * for a leaf it was handed.
 */
import { readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { unifiedCgroupPath } from './cgroup-dirs'
import { mountsOf } from './mountinfo'
import { readSmall } from './procfs'

/** SIGKILL to every process of the cgroup and its descendants; false if there is none. */
export function killCgroup(dir: string): boolean {
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1')
    return true
  } catch {
    return false
  }
}

/** Live processes of the cgroup itself (zombies are not listed). */
export async function cgroupPids(dir: string): Promise<number[]> {
  try {
    const text = await readFile(join(dir, 'cgroup.procs'), 'latin1')
    return text.split('\n').filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/**
 * Whether any process is left in the cgroup or below it. A synchronous read: a cgroup file is
 * made up in memory on the spot, and a trip through the thread pool cost more than the read.
 */
export function cgroupPopulated(dir: string): boolean {
  return /^populated 1$/m.test(readSmall(join(dir, 'cgroup.events')) ?? '')
}

/**
 * Removes an empty cgroup and its empty descendants; one that holds a process stays. Its
 * descendants are looked for only when it refuses (EBUSY): a leaf seldom has any.
 */
export function removeCgroup(dir: string): boolean {
  const removed = tryRmdir(dir)
  if (removed !== 'EBUSY') return removed
  for (const name of safeReaddir(dir, true)) removeCgroup(join(dir, name))
  return tryRmdir(dir) === true
}

function tryRmdir(dir: string): boolean | 'EBUSY' {
  try {
    rmdirSync(dir)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' || (code === 'EBUSY' ? 'EBUSY' : false)
  }
}

/**
 * removeCgroup, tried again for a while: a cgroup whose last process was just killed can
 * refuse removal (EBUSY) for a moment after `cgroup.events` says it is empty.
 */
export async function removeCgroupSoon(dir: string, limitMs = 1000): Promise<boolean> {
  const deadline = performance.now() + limitMs
  for (let delay = 10; ; delay *= 2) {
    if (removeCgroup(dir)) return true
    if (performance.now() >= deadline) return false
    await new Promise(r => setTimeout(r, delay))
  }
}

/** The directory of execd's own cgroup in a writable cgroup v2 mount, if there is one. */
export function ownCgroupDir(): string | undefined {
  let own: string | undefined
  let mounts: string
  try {
    own = unifiedCgroupPath(readFileSync('/proc/self/cgroup', 'utf8'))
    mounts = readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return undefined
  }
  if (!own || own.endsWith(' (deleted)')) return undefined
  for (const { root, point, options, fstype } of mountsOf(mounts)) {
    if (fstype !== 'cgroup2' || !options.includes('rw')) continue
    const rel = root === '/' ? own : own.startsWith(`${root}/`) || own === root ? own.slice(root.length) : undefined
    if (rel === undefined) continue
    return join(point, rel)
  }
  return undefined
}

export function safeReaddir(dir: string, dirsOnly = false): string[] {
  try {
    const entries = readdirSync(dir, { withFileTypes: true })
    return entries.filter(e => !dirsOnly || e.isDirectory()).map(e => e.name)
  } catch {
    return []
  }
}
