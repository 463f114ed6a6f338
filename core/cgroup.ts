/**
 * cgroup v2 confinement for owned processes. Where the unified hierarchy is writable (root in
 * a container with its own cgroup namespace, a VM, a hybrid host's /sys/fs/cgroup/unified),
 * every owned process gets a leaf below one directory of this execd: no `setsid`, double fork
 * or `nohup` leaves a cgroup, `cgroup.kill` ends all of it in one write, and `cgroup.events`
 * says when it is empty. Only controller-free leaves are made, so nothing changes for the
 * resources of the processes, and the "no internal processes" rule never applies.
 *
 * A short command must not pay for its leaf on the way: an emptied leaf is kept for the next
 * process instead of removed (a mkdir and an rmdir of a cgroup cost ~70 µs each), and a process
 * is spawned straight into its leaf (clone3's CLONE_INTO_CGROUP, Bun.spawn's `cgroup`, given the
 * leaf's kept directory): it is in the leaf from its first instruction, and no move is made. A
 * move (a write to `cgroup.procs`, the fallback where such a spawn fails) takes the kernel's
 * global cgroup_threadgroup_rwsem for writing: an RCU grace period first (expedited on some
 * kernels: an interrupt on every CPU), then every fork and exit of the machine waits while it
 * is held. It runs on the thread pool, as the grace period would stall the event loop, and the
 * process runs outside its leaf until it is done (~0.15 ms of execd's CPU per move here).
 * A leaf's directory, `cgroup.procs` and `cgroup.events` stay open while the tree has the leaf:
 * each spawn, move and look at the leaf uses a kept file, instead of an open and a close each,
 * with a path walk through cgroupfs every time.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, write } from 'node:fs'
import { join } from 'node:path'
import { killCgroup, ownCgroupDir, removeCgroup, removeCgroupSoon, safeReaddir } from './cgroup-ops'
import { readSmallAt } from './procfs'
import { randomHex } from './random'

/** Emptied leaves kept for reuse; more (after a burst of processes at once) are removed. */
const SPARE_LEAVES = 16

/** A leaf's kept files; `moving` while a write to `procs` is under way (it is closed after). */
interface LeafFiles {
  /** The directory itself, for a spawn straight into the leaf (Bun.spawn's `cgroup`). */
  dir?: number
  procs?: number
  events?: number
  moving: boolean
  forgotten: boolean
  /**
   * A SIGKILL may have reached it: `cgroup.kill` was written to it (kill()), or its leader died
   * of SIGKILL (poison()). Such a leaf is removed, never handed on: a process spawned into a
   * killed leaf (CLONE_INTO_CGROUP) is SIGKILLed at birth on this 6.18 kernel, while one moved
   * into it by a `cgroup.procs` write is not (spec/ownership.test.ts).
   */
  killed?: boolean
}

/** `text` written at `fd` on the thread pool. */
const writeAt = (fd: number, text: string) =>
  new Promise<void>((resolve, reject) => write(fd, text, err => (err ? reject(err) : resolve())))

/** This execd's directory of leaves, beside execd's own cgroup entry. */
export class CgroupTree {
  private seq = 0
  /** Empty leaves, ready for the next process. */
  private readonly spare: string[] = []
  /** The open files of the leaves this tree has handed out or keeps. */
  private readonly files = new Map<string, LeafFiles>()

  private constructor(readonly dir: string) {}

  /**
   * The tree, or undefined where cgroup v2 is missing, read-only or too old for `cgroup.kill`
   * (Linux < 5.14). Empty trees that exited execd left behind are removed first (a cgroup with
   * a process in it cannot be removed, so the sweep never takes one in use either).
   */
  static open(): CgroupTree | undefined {
    const base = ownCgroupDir()
    if (!base) return undefined
    for (const name of safeReaddir(base)) {
      const pid = /^execd-(\d+)-[0-9a-f]+$/.exec(name)?.[1]
      // A live execd's tree is empty between its commands: left alone (it made it again on its
      // next command, but lost its kept leaves and their open files).
      if (pid !== undefined && !alive(Number(pid))) removeCgroup(join(base, name))
    }
    const dir = join(base, `execd-${process.pid}-${randomHex(4)}`)
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
   * An empty leaf for a process about to be confined: a kept one, else a new one; undefined if
   * none can be made.
   */
  take(): string | undefined {
    const kept = this.spare.pop()
    if (kept) return kept
    const leaf = join(this.dir, String(++this.seq))
    try {
      // recursive: another execd's sweep may have removed the tree while it was empty
      mkdirSync(leaf, { recursive: true })
      return leaf
    } catch {
      return undefined
    }
  }

  /**
   * The leaf's directory, kept open, for a process to be spawned straight into it (clone3's
   * CLONE_INTO_CGROUP, through Bun.spawn's `cgroup`); undefined if it cannot be opened.
   */
  dirOf(leaf: string): number | undefined {
    const files = this.filesOf(leaf)
    try {
      files.dir ??= openSync(leaf, constants.O_RDONLY | constants.O_DIRECTORY)
      return files.dir
    } catch {
      return undefined
    }
  }

  /**
   * Moves `pid` into `leaf` (from take()) off the event loop; false if it could not (the leaf
   * is then dropped). A kept leaf that another execd's sweep removed while it was empty is
   * made again.
   */
  async confine(pid: number, leaf: string): Promise<boolean> {
    for (let again = false; ; again = true) {
      const files = this.filesOf(leaf)
      try {
        // Read too (holds): one kept file answers both the move and who is in the leaf.
        files.procs ??= openSync(join(leaf, 'cgroup.procs'), 'r+')
        files.moving = true
        try {
          await writeAt(files.procs, String(pid))
        } finally {
          files.moving = false
          if (files.forgotten) closeFiles(files)
        }
        return true
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        // ESRCH: the process was gone before the move (a fast command); the leaf is as it was.
        if (code === 'ESRCH' && this.recycle(leaf)) return false
        // ENOENT (opening) or ENODEV (a kept file): another execd's sweep removed the leaf
        // while it was empty. Made again, once.
        if (again || (code !== 'ENOENT' && code !== 'ENODEV')) return this.discard(leaf)
        this.forget(leaf)
        try {
          mkdirSync(leaf, { recursive: true })
        } catch {
          return this.discard(leaf)
        }
      }
    }
  }

  /**
   * Whether `pid` is a live process of `leaf` itself (a zombie has left it), from the leaf's kept
   * `cgroup.procs` once a move has opened it: one read at an open file, where `/proc/<pid>/stat`
   * took a path walk through procfs and an open and close (~90 µs on the event loop against ~13 µs).
   */
  holds(leaf: string, pid: number): boolean {
    return this.files.get(leaf)?.procs !== undefined && (this.pids(leaf)?.includes(String(pid)) ?? false)
  }

  /**
   * The live processes of `leaf` itself (its first 4 KiB of them, one a line, ending with ""), from
   * its `cgroup.procs` kept open (r+, as confine() keeps it); undefined if it cannot be read.
   */
  pids(leaf: string): string[] | undefined {
    const files = this.filesOf(leaf)
    try {
      files.procs ??= openSync(join(leaf, 'cgroup.procs'), 'r+')
      return readSmallAt(files.procs).split('\n')
    } catch {
      return undefined
    }
  }

  /** Whether anything runs in `leaf` (from take()) or below it. */
  populated(leaf: string): boolean {
    return /^populated 1$/m.test(this.events(leaf) ?? '')
  }

  /**
   * Takes back a leaf whose owner is done, once it is empty: kept for the next process unless
   * it is frozen (a command may have written its `cgroup.freeze`) or killed, else removed. False, and
   * nothing done, while a process is left in it.
   */
  recycle(leaf: string): boolean {
    const events = this.events(leaf)
    if (events !== undefined && /^populated 1$/m.test(events)) return false
    const mine = leaf.startsWith(`${this.dir}/`) // not one of a tree closed before this one
    const reusable = mine && !this.files.get(leaf)?.killed && this.spare.length < SPARE_LEAVES
    if (events !== undefined && !/^frozen 1$/m.test(events) && reusable) this.spare.push(leaf)
    else this.discard(leaf)
    return true
  }

  /** SIGKILL to everything in `leaf` (from take()), in one write; the leaf is not reused after. */
  kill(leaf: string): boolean {
    this.poison(leaf)
    return killCgroup(leaf)
  }

  /** A SIGKILL reached `leaf` (its leader died of one): not reused, as after kill(). */
  poison(leaf: string): void {
    this.filesOf(leaf).killed = true
  }

  /**
   * Removes every spare leaf: after a SIGKILL execd did not send (the OOM killer, a `kill -9`
   * or a `cgroup.kill` from outside), which may have reached them too.
   */
  dropSpares(): void {
    for (const leaf of this.spare.splice(0)) this.discard(leaf)
  }

  /** Kills everything in every leaf (shutdown), synchronously: one write. */
  killAll(): void {
    killCgroup(this.dir)
  }

  /** Removes the tree once its processes are gone (leaves that still hold one stay). */
  close(): void {
    this.forgetAll()
    removeCgroup(this.dir)
  }

  /** close(), waiting a moment for leaves whose processes were just killed. */
  closeSoon(limitMs = 500): Promise<boolean> {
    this.forgetAll()
    return removeCgroupSoon(this.dir, limitMs)
  }

  /**
   * Removes a leaf once it is empty, never to be used again: one a move failed into (a command
   * may have made it threaded), or one its owner let go of while something still ran in it.
   */
  discard(leaf: string): false {
    this.forget(leaf)
    void removeCgroupSoon(leaf)
    return false
  }

  /** `cgroup.events` of the leaf, read again from its start; undefined once the leaf is gone. */
  private events(leaf: string): string | undefined {
    const files = this.filesOf(leaf)
    try {
      files.events ??= openSync(join(leaf, 'cgroup.events'), 'r')
      return readSmallAt(files.events)
    } catch {
      return undefined
    }
  }

  private filesOf(leaf: string): LeafFiles {
    let files = this.files.get(leaf)
    if (!files) this.files.set(leaf, (files = { moving: false, forgotten: false }))
    return files
  }

  /** Closes the leaf's files (a write under way closes its file when it ends). */
  private forget(leaf: string): void {
    const files = this.files.get(leaf)
    if (!files) return
    this.files.delete(leaf)
    files.forgotten = true
    if (!files.moving) closeFiles(files)
  }

  private forgetAll(): void {
    this.spare.length = 0
    for (const leaf of [...this.files.keys()]) this.forget(leaf)
  }
}

function closeFiles(files: LeafFiles): void {
  for (const fd of [files.dir, files.procs, files.events]) {
    if (fd === undefined) continue
    try {
      closeSync(fd)
    } catch {}
  }
  files.dir = files.procs = files.events = undefined
}

/** Whether a process of this pid exists (EPERM: it does, another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
