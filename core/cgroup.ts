/**
 * cgroup v2 confinement for owned processes. Where the unified hierarchy is writable (root in
 * a container with its own cgroup namespace, a VM, a hybrid host's /sys/fs/cgroup/unified),
 * every owned process gets a leaf below one directory of this execd: no `setsid`, double fork
 * or `nohup` leaves a cgroup, `cgroup.kill` ends all of it in one write, and `cgroup.events`
 * says when it is empty. Only controller-free leaves are made, so nothing changes for the
 * resources of the processes, and the "no internal processes" rule never applies.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** This execd's directory of leaves, beside execd's own cgroup entry. */
export class CgroupTree {
  private seq = 0

  private constructor(readonly dir: string) {}

  /**
   * The tree, or undefined where cgroup v2 is missing, read-only or too old for `cgroup.kill`
   * (Linux < 5.14). Empty trees that other execd left behind are removed first: a cgroup with
   * a process in it cannot be removed, so the sweep can never take a live one.
   */
  static open(): CgroupTree | undefined {
    const base = ownCgroupDir()
    if (!base) return undefined
    for (const name of safeReaddir(base)) if (/^execd-\d+-[0-9a-f]+$/.test(name)) removeCgroup(join(base, name))
    const dir = join(base, `execd-${process.pid}-${Math.random().toString(16).slice(2, 10)}`)
    try {
      mkdirSync(dir)
    } catch {
      return undefined
    }
    if (!existsSync(join(dir, 'cgroup.kill'))) {
      removeCgroup(dir)
      return undefined
    }
    return new CgroupTree(dir)
  }

  /**
   * Moves `pid` into a new leaf and returns the leaf, or undefined if it could not. Another
   * execd's sweep may have removed the (empty) tree meanwhile: it is made again.
   */
  confine(pid: number): string | undefined {
    const leaf = join(this.dir, String(++this.seq))
    try {
      mkdirSync(leaf, { recursive: true })
      writeFileSync(join(leaf, 'cgroup.procs'), String(pid))
      return leaf
    } catch {
      removeCgroup(leaf)
      return undefined
    }
  }

  /** Kills everything in every leaf (shutdown), synchronously: one write. */
  killAll(): void {
    killCgroup(this.dir)
  }

  /** Removes the tree once its processes are gone (leaves that still hold one stay). */
  close(): void {
    removeCgroup(this.dir)
  }

  /** close(), waiting a moment for leaves whose processes were just killed. */
  closeSoon(limitMs = 500): Promise<boolean> {
    return removeCgroupSoon(this.dir, limitMs)
  }
}

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

/** Whether any process is left in the cgroup or below it. */
export async function cgroupPopulated(dir: string): Promise<boolean> {
  try {
    return /^populated 1$/m.test(await readFile(join(dir, 'cgroup.events'), 'latin1'))
  } catch {
    return false
  }
}

/** Removes an empty cgroup and its empty descendants; one that holds a process stays. */
function removeCgroup(dir: string): boolean {
  for (const name of safeReaddir(dir, true)) removeCgroup(join(dir, name))
  try {
    rmdirSync(dir)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
  }
}

/**
 * removeCgroup, tried again for a while: a cgroup whose last process was just killed can
 * refuse removal (EBUSY) for a moment after `cgroup.events` says it is empty.
 */
export async function removeCgroupSoon(dir: string, limitMs = 1000): Promise<boolean> {
  const deadline = Date.now() + limitMs
  for (let delay = 10; ; delay *= 2) {
    if (removeCgroup(dir)) return true
    if (Date.now() >= deadline) return false
    await new Promise(r => setTimeout(r, delay))
  }
}

/** The directory of execd's own cgroup in a writable cgroup v2 mount, if there is one. */
function ownCgroupDir(): string | undefined {
  let own: string | undefined
  let mounts: string
  try {
    own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1]
    mounts = readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return undefined
  }
  if (!own || own.endsWith(' (deleted)')) return undefined
  for (const line of mounts.split('\n')) {
    // id parent dev root mountpoint options [optional...] - fstype source superoptions
    const [left = '', right] = line.split(' - ')
    if (!right?.startsWith('cgroup2 ')) continue
    const [, , , root, mountPoint, options] = left.split(' ')
    if (root === undefined || mountPoint === undefined || !options?.split(',').includes('rw')) continue
    const rel = root === '/' ? own : own.startsWith(`${root}/`) || own === root ? own.slice(root.length) : undefined
    if (rel === undefined) continue
    return join(unescapeMount(mountPoint), rel)
  }
  return undefined
}

/** mountinfo escapes spaces and the like as octal. */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))

function safeReaddir(dir: string, dirsOnly = false): string[] {
  try {
    const entries = readdirSync(dir, { withFileTypes: true })
    return entries.filter(e => !dirsOnly || e.isDirectory()).map(e => e.name)
  } catch {
    return []
  }
}
