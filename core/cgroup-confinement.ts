/**
 * Where owned processes are confined (core/ownership.ts): this execd's one cgroup tree
 * (core/cgroup.ts), made when `serve` turns confinement on, and the leaves processes are spawned
 * straight into, paused for a while after a few in a row refused them.
 */
import { CgroupTree } from './cgroup'
import { LeafRefusals } from './leaf-refusals'
import { releaseMemoryReserve, reserveMemory, underReserve } from './memory-reserve'
import { raiseOomScore } from './oom-adj'
import type { Logger } from './log'

let tree: CgroupTree | undefined
/**
 * Confinement is on but the tree not made yet (confineWithCgroups): the first process to own
 * makes it, if `serve` has not already just after listening (a mkdir and a sweep of the parent
 * that need not delay the first /ping).
 */
let pending: { log?: Logger; memoryReserve?: number } | undefined

/** The tree, made now if it is due: no owned process is spawned before it exists. */
export function treeNow(): CgroupTree | undefined {
  if (pending) {
    const { log, memoryReserve } = pending
    pending = undefined
    tree ??= CgroupTree.open()
    if (tree) log?.info('owned processes are confined in cgroups', { cgroup: tree.dir })
    else log?.info('cgroup v2 is not writable here: owned processes are tracked by group and environment')
    reserveMemory(log, memoryReserve)
  }
  return tree
}

/** The tree if it is made (undefined: owned processes are tracked by group and environment). */
export const cgroupTree = (): CgroupTree | undefined => tree

/** Spawns into a leaf that failed: a few in a row pause spawning into leaves for a while. */
export const refusals = new LeafRefusals()

/** A leaf to spawn a process straight into, and its directory's descriptor for Bun.spawn's `cgroup`. */
export interface SpawnLeaf {
  path: string
  fd: number
}

/**
 * A leaf for the process about to be spawned, undefined where there is no tree (the process is
 * then owned by its group and marker) or while spawning into leaves is paused after failures
 * (then the Owner moves it into one after the spawn).
 */
export function leafToSpawnInto(): SpawnLeaf | undefined {
  const t = treeNow()
  if (!t || !refusals.open) return undefined
  const path = t.take()
  if (!path) return undefined
  const fd = t.dirOf(path)
  if (fd !== undefined) return { path, fd }
  t.discard(path)
  return undefined
}

/** A child just spawned: first in line for the OOM killer, and counted apart from execd's reserve. */
export function shelterFromOom(pid: number, into: SpawnLeaf | undefined): void {
  // Read once, after the move: what the child forks from then on is born in the children's cgroup.
  let listed: string[] | undefined
  const inLeaf = into && (() => (listed ??= leafPids(into)))
  underReserve(pid, inLeaf)
  raiseOomScore(pid, inLeaf)
}

/** The processes in a leaf spawned into, as pids in text (core/cgroup.ts pids()); undefined if it cannot be read. */
const leafPids = (leaf: SpawnLeaf): string[] | undefined => tree?.pids(leaf.path)

/**
 * After a spawn into the leaf failed. `joined` false: the spawn failed without the leaf too
 * (a missing working directory…), and the empty leaf goes back to the tree. `joined` true: the
 * spawn without it worked, so the leaf refused the process (removed by another execd's sweep,
 * made threaded by its last command, clone3 refused by a seccomp filter): the leaf is dropped,
 * and the Owner moves the process into a new one.
 */
export function leafRefused(leaf: SpawnLeaf, joined: boolean): void {
  if (!joined) {
    if (!tree?.recycle(leaf.path)) tree?.discard(leaf.path)
    return
  }
  refusals.refused()
  tree?.discard(leaf.path)
}

/**
 * Turns on cgroup confinement for processes spawned from now on (serve only: a CLI verb leaves
 * what a command started in the background running, as a shell does). The tree is made by the
 * first process spawned, or by `makeCgroupTree()`, whichever comes first.
 */
export function confineWithCgroups(log?: Logger, memoryReserve?: number): void {
  if (!tree) pending = { log, memoryReserve }
}

/** Makes the tree confineWithCgroups asked for, if not yet made (serve: just after listening). */
export function makeCgroupTree(): void {
  treeNow()
}

/** Removes the cgroup tree (its leaves that still hold a process stay, for the next sweep). */
export function closeCgroups(): void {
  pending = undefined
  tree?.close()
  tree = undefined
  releaseMemoryReserve()
}

/** closeCgroups, waiting a moment for leaves whose processes were just killed (shutdown). */
export async function closeCgroupsSoon(): Promise<void> {
  pending = undefined
  await tree?.closeSoon()
  tree = undefined
  releaseMemoryReserve()
}

/** SIGKILL to every cgroup leaf at once (synchronous; execd is about to exit). */
export const killAllCgroups = (): void => tree?.killAll()
