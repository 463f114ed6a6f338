/**
 * What execd owns of a spawned process beyond its leader: everything it started, even what
 * left the process group (`setsid`, a double fork, `nohup … &`, `start_new_session=True`).
 * Two nets catch those: a cgroup leaf per process where cgroup v2 is writable (core/cgroup-confinement.ts),
 * and everywhere a marker in the environment (`EXECD_OWNER=<execd>.<n>`), which children
 * inherit and which leaving a group or session does not shed (only a program that clears its
 * own environment does; the cgroup still holds those, unless a root one writes itself out).
 * A third net, descent (core/lineage.ts), holds what shed both while its parent is owned; and
 * an orphan that shed everything is re-parented to execd (core/reaper.ts), killed at shutdown.
 * Processes left when a leader exits stay owned: they are killed with their owner (a DELETE, a
 * session's end) and at shutdown.
 */
import { cgroupTree, refusals, treeNow } from './cgroup-confinement'
import { cgroupPids, cgroupPopulated, killCgroup, removeCgroupSoon } from './cgroup-ops'
import { Lineage } from './lineage'
import { killMarkedBy } from './marker-sweep'
import { scanProcs, type ProcInfo } from './proc-scan'
import { readSmall, ticksSinceBoot } from './procfs'
import { randomHex } from './random'

export const OWNER_ENV = 'EXECD_OWNER'

/** This execd; every marker it hands out starts with it. */
const instance = randomHex(6)
let seq = 0

/** A fresh marker for a process about to be spawned. */
export const newOwnerId = (): string => `${instance}.${++seq}`

/** The processes one spawned leader stands for: its group, its cgroup leaf, its marker. */
export class Owner {
  /** The leader's cgroup leaf, until it is released. */
  private cgroup: string | undefined
  /** The leader was spawned into its leaf, or was running and childless when moved into it. */
  private tight = false
  /** Processes were left in the leaf when the leader exited: it is removed, not reused. */
  private outlived = false
  /**
   * Settles once the leader's move into its leaf is done or failed (at once for a leader spawned
   * into its leaf). The move runs off the event loop (core/cgroup.ts); what reads the leaf waits
   * for it, the group and the marker cover the leader meanwhile.
   */
  private readonly moved: Promise<void>

  /** @param born the leaf the leader was spawned into (leafToSpawnInto), if it was */
  constructor(
    readonly id: string,
    readonly pgid: number,
    born?: string,
  ) {
    if (born) {
      // Everything it forks starts in the leaf too: the leaf alone tells what runs.
      refusals.joined()
      this.cgroup = born
      this.tight = true
      this.moved = Promise.resolve()
      return
    }
    const tree = treeNow()
    const leaf = tree?.take()
    if (!tree || !leaf) {
      this.moved = Promise.resolve()
      return
    }
    this.cgroup = leaf
    this.moved = tree.confine(pgid, leaf).then(ok => {
      if (!ok) this.cgroup = undefined
      // Asked of the leaf first: a leader already gone (a short command) costs no /proc read.
      else this.tight = tree.holds(leaf, pgid) && noChildren(pgid) && tree.holds(leaf, pgid)
    })
  }

  /**
   * Whether the cgroup leaf alone can say if anything of this owner runs (once settled()). A
   * leader that had a child before it was moved (a fast fork) is not: that child may be outside.
   */
  get confined(): boolean {
    return this.tight
  }

  /** Resolves once the leader's move into its leaf is over, either way. */
  settled(): Promise<void> {
    return this.moved
  }

  /**
   * Live (non-zombie) processes of this owner, execd excluded: its group, its marker and its
   * cgroup leaf, from one shared /proc pass. The marker is looked for even in a cgroup: a
   * child can be forked before its leader is moved into the leaf.
   */
  async members(): Promise<number[]> {
    return (await this.look()).members
  }

  /** members(), and whether the group of the leader's pid is still its own (groupOwn). */
  private async look(): Promise<{ members: number[]; group: boolean }> {
    await this.moved
    const procs = await scanProcs(OWNER_ENV)
    const group = this.groupOwn(procs)
    const found = new Set<number>()
    for (const p of procs) {
      if (p.state !== 'Z' && p.pid !== process.pid && ((group && p.pgid === this.pgid) || p.marker === this.id))
        found.add(p.pid)
    }
    const leaf = this.cgroup
    if (leaf) {
      const inLeaf = await cgroupPids(leaf)
      // Released while it was read, the leaf may already hold the next command.
      if (this.cgroup === leaf) for (const pid of inLeaf) found.add(pid)
    }
    found.delete(process.pid)
    return { members: this.lineage.extend(found, procs), group }
  }

  /** When the leader was reaped, in procfs ticks: its pid free from then on once its group empties. */
  private reapedAt: number | undefined

  leaderReaped(): void {
    this.reapedAt = ticksSinceBoot()
  }

  /**
   * Whether the process group of the leader's pid is the leader's: until it is reaped, and then
   * while a member that started before the reaping is in it (the group never emptied, so its
   * number was never free). One made since is another's, as every child of execd leads its own:
   * a command's DELETE after its leader exited, leaving a `setsid` job, signalled the group and
   * killed the process that had been given the leader's pid.
   */
  private groupOwn(procs: readonly ProcInfo[]): boolean {
    const at = this.reapedAt
    if (at === undefined || Number.isNaN(at)) return true // no /proc to tell: trust kill(2), as before
    return procs.some(p => p.pgid === this.pgid && p.state !== 'Z' && p.start !== undefined && p.start < at)
  }

  /**
   * Members that left every net (a cleared environment, a move out of the cgroup, a new
   * session), found once as descendants of a member and kept while the same process lives.
   */
  private readonly lineage = new Lineage()

  /** Whether anything of this owner still runs (a cgroup's state file when it can tell). */
  async populated(): Promise<boolean> {
    await this.moved
    const tree = cgroupTree()
    if (this.tight && this.cgroup && this.lineage.empty)
      return tree ? tree.populated(this.cgroup) : cgroupPopulated(this.cgroup)
    return (await this.members()).length > 0
  }

  /**
   * Whether a process found by lineage still runs, in a table already read (the sweep of
   * exited owners, which reads markers and groups from the same table).
   */
  keepsDescendants(procs: readonly ProcInfo[]): boolean {
    return this.lineage.alive(procs)
  }

  /**
   * Signals every member and the group; SIGKILL also empties the cgroup in one write. The
   * members are found before the group is signalled: a parent killed first would orphan its
   * children, and lineage could no longer tell them from anyone's. `sending` is called at the
   * moment the signal goes out, after those reads.
   */
  async signal(sig: NodeJS.Signals, sending?: () => void): Promise<void> {
    const { members, group } = await this.look()
    sending?.()
    if (group) safeKill(-this.pgid, sig)
    if (sig === 'SIGKILL' && this.cgroup) this.killLeaf(this.cgroup)
    for (const pid of members) safeKill(pid, sig)
  }

  /** SIGKILL without waiting for anything (the last moment before execd exits). */
  killNow(): void {
    if (this.reapedAt === undefined) safeKill(-this.pgid, 'SIGKILL')
    if (this.cgroup) this.killLeaf(this.cgroup)
  }

  /**
   * The leader died of SIGKILL: its leaf is not handed on. One execd did not send (the OOM
   * killer, a `kill -9` from outside) may have reached the spare leaves too: they are dropped.
   */
  leaderKilled(byExecd: boolean): void {
    const tree = cgroupTree()
    if (this.cgroup) tree?.poison(this.cgroup)
    if (!byExecd) tree?.dropSpares()
  }

  private killLeaf(leaf: string): void {
    const tree = cgroupTree()
    if (tree) tree.kill(leaf)
    else killCgroup(leaf)
  }

  /**
   * Once nothing of it runs: its leaf goes back to the tree for the next process (or is
   * removed). Forgotten here first, so a later kill of this owner never reaches that process.
   */
  release(): void {
    const leaf = this.cgroup
    this.cgroup = undefined
    this.tight = false
    if (!leaf) return
    const tree = cgroupTree()
    if (!tree) void removeCgroupSoon(leaf)
    else if (this.outlived || !tree.recycle(leaf)) tree.discard(leaf)
  }

  /**
   * After the leader exited: release() if the leaf alone can tell and says nothing runs, in
   * one read of its state file. An emptied leaf goes back to the tree even when it cannot tell
   * (a child forked before the move may run outside it): nothing of this owner can enter it
   * again once its leader is gone and it is empty, and kept, a leaf made every such command
   * make a new one (a mkdir, its files opened, an rmdir later). The owner is then looked
   * for by its group and marker. True once released.
   */
  releaseIfEmpty(): boolean {
    const tree = cgroupTree()
    if (!this.cgroup || !tree) return false
    if (!tree.recycle(this.cgroup)) {
      this.outlived = true
      return false
    }
    this.cgroup = undefined
    const tight = this.tight
    this.tight = false
    return tight
  }
}

/**
 * Kills every process carrying one of this execd's markers: what escaped its group and any
 * cgroup (a leader spawned before cgroups were on, a fork that beat the move into the leaf).
 * And every orphan re-parented to execd (core/reaper.ts: its subreaper) with what it started:
 * what also shed the marker (`setsid env -i …` whose parent exited).
 */
export async function killMarked(): Promise<number> {
  const prefix = `${instance}.`
  const procs = await scanProcs(OWNER_ENV)
  const ownGroup = procs.find(p => p.pid === process.pid)?.pgid
  const adopted = new Lineage().extend(
    new Set(procs.filter(p => p.ppid === process.pid && p.pgid !== ownGroup && p.state !== 'Z').map(p => p.pid)),
    procs,
  )
  const doomed = new Set(adopted)
  for (const p of procs) if (p.pid !== process.pid && p.marker?.startsWith(prefix)) doomed.add(p.pid)
  let n = 0
  for (const pid of doomed) n += safeKill(pid, 'SIGKILL') ? 1 : 0
  return n
}

/** killMarked, synchronously: the one pass made when execd exits before killAll could finish. */
export const killMarkedSync = (): void => void killMarkedBy(ownerMarker(), process.pid)

/** `EXECD_OWNER=<execd>.`: how every marker this execd hands out starts (its keeper sweeps for it once execd is dead). */
export const ownerMarker = (): string => `${OWNER_ENV}=${instance}.`

/**
 * Whether the leader, just moved into its leaf, has no child yet. One forked before the move
 * may be outside the leaf, so the marker stays the net for that owner. Only what the list
 * says: the caller then asks the leaf whether the leader still runs (an exited leader's
 * children were taken over by others, and its empty list said nothing).
 */
function noChildren(pid: number): boolean {
  return readSmall(`/proc/${pid}/task/${pid}/children`)?.trim() === ''
}

function safeKill(pid: number, sig: NodeJS.Signals | number): boolean {
  try {
    process.kill(pid, sig)
    return true
  } catch {
    return false
  }
}
