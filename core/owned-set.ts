/**
 * What execd owns until it lets go (core/process.ts spawns and kills): every leader it spawned,
 * running or exited with processes of its own still running (or that may be: not yet looked at
 * by a /proc pass), each with what resolves its `released`. Exited owners are looked at again
 * every few seconds until nothing of them runs.
 */
import { OWNER_ENV } from './ownership'
import { scanDescendants } from './descendant-scan'
import { scanProcs } from './proc-scan'
import { PERIODS } from './periods'
import type { OwnedProcess } from './process'

/** Everything owned, with what resolves its `released`. */
const owned = new Map<OwnedProcess, () => void>()
/** Exited leaders whose processes still run (or may: not yet looked at by a /proc pass). */
const lingering = new Set<OwnedProcess>()

/** Owns `p` until `letGo` is called (its `released` resolves then). */
export function own(p: OwnedProcess, letGo: () => void): void {
  owned.set(p, letGo)
}

/** Everything owned now, running or exited (a copy: killing one may let it go). */
export const ownedProcesses = (): OwnedProcess[] => [...owned.keys()]

/** Exited leaders whose owners are not looked at yet. */
const exitedOwners: OwnedProcess[] = []

/**
 * settle() for `p`, after what its exit set off: whoever awaited the exit (a command's
 * terminal event) goes first, the clean-up after, for every leader that exited meanwhile.
 */
export function settleSoon(p: OwnedProcess): void {
  if (exitedOwners.push(p) > 1) return
  setImmediate(() => {
    for (const q of exitedOwners.splice(0)) void settle(q)
  })
}

/**
 * After its leader exits, an owner is released once nothing of it runs. What a command left
 * running (`server &`) stays owned, killed with its owner's kill() and at shutdown, and is
 * looked at again every few seconds (a cgroup's state file, or one pass over execd's tree for all).
 */
async function settle(p: OwnedProcess): Promise<void> {
  await p.owner.settled()
  if (!owned.has(p)) return
  if (p.owner.releaseIfEmpty()) {
    letGoOf(p)
    return
  }
  lingering.add(p)
  settleTimer ??= setInterval(() => void settleLingering(), SETTLE_EVERY_MS)
  settleTimer.unref?.()
}

const SETTLE_EVERY_MS = PERIODS.settle
let settleTimer: ReturnType<typeof setInterval> | undefined

/** Releases every exited owner with nothing left; at most one /proc pass for all of them. */
export async function settleLingering(): Promise<void> {
  const checked = [...lingering]
  const needScan = checked.some(p => !p.owner.confined)
  const procs = needScan ? ((await scanDescendants(OWNER_ENV)) ?? (await scanProcs(OWNER_ENV))) : []
  const markers = new Set<string>()
  const groups = new Set<number>()
  for (const q of procs) {
    if (q.state === 'Z' || q.pid === process.pid) continue
    if (q.marker) markers.add(q.marker)
    groups.add(q.pgid)
  }
  for (const p of checked) {
    const left = p.owner.confined
      ? await p.owner.populated()
      : markers.has(p.owner.id) || groups.has(p.pid) || p.owner.keepsDescendants(procs)
    if (!left) release(p)
  }
  if (lingering.size === 0 && settleTimer) {
    clearInterval(settleTimer)
    settleTimer = undefined
  }
}

export function release(p: OwnedProcess): void {
  letGoOf(p)
  lingering.delete(p)
  p.owner.release()
}

function letGoOf(p: OwnedProcess): void {
  owned.get(p)?.()
  owned.delete(p)
}
