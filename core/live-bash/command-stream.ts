/**
 * Where execd writes a live bash's lines. The shell's input is where it reads the next run's
 * line, which carries that run's marker; while a run's code runs, bash keeps that input on a
 * descriptor of its own (fd 10 or above: its stdin is the code's /dev/null), close-on-exec, but
 * not closed in what it forks: a background job of the run (`{ cat; } <&10 &`, a function run
 * with `&`) held it, read the next run's line instead of the shell and learnt its marker — that
 * run never ran, and ended with the stall's words. So each run's line ends by moving the shell to
 * a FIFO made for the next line (frame.ts: `exec 0<` it, after the code ran; bash then reads its
 * lines from there and closes the old input) and execd writes the next line there: what a run's
 * job took with it is a stream nothing is written to any more, which ends (EOF) as execd closes
 * its end. The FIFO's name is removed once the shell holds it.
 */
import { chownSync, closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { FileSink } from 'bun'
import { makeFifo } from '../fifo'
import type { FifoDir } from './fifo-dir'
import { forgetAtExit } from '../exit-removals'
import { removeFileAtExit } from './code-file'

interface Fifo {
  /** '' once removed: not removed twice (~5 µs on tmpfs here, ~40 µs on ext4). */
  path: string
  fd: number
  /** The name the shell is given (FifoDir `shown`). */
  shown?: string
}

export class CommandStream {
  /** The FIFO the shell reads now; undefined: still the stdin it was started with. */
  private current: Fifo | undefined
  /** The FIFO named in the line out now, for the shell to move to as the run ends. */
  private offered: Fifo | undefined
  private made = 0
  private closed = false

  constructor(
    private readonly stdin: FileSink,
    private readonly dir: FifoDir,
    private readonly nonce: string,
    /** Who the shell runs as, where not execd's user: the FIFO is made theirs. */
    private readonly owner?: { uid: number; gid: number },
  ) {}

  /**
   * Writes `text` where the shell reads. False when it could not be written (a FIFO whose buffer
   * someone else filled: never waited on, the event loop would stop).
   */
  write(text: string): boolean {
    try {
      if (!this.current) {
        this.stdin.write(text)
        this.stdin.flush()
        return true
      }
      const bytes = Buffer.from(text)
      return writeSync(this.current.fd, bytes) === bytes.length
    } catch {
      // bash is gone (the run notices through EOF/exit), or the FIFO is full
      return !this.current
    }
  }

  /**
   * A new FIFO for the line about to be sent to name, or undefined where none could be made (no
   * mkfifo, a full or read-only temp dir): the shell then stays where it reads, as before.
   */
  offer(): string | undefined {
    this.drop(this.offered)
    this.offered = this.closed ? undefined : this.make()
    return this.offered?.shown
  }

  /** The run ended: `moved`, the shell reads the offered FIFO now. */
  settle(moved: boolean): void {
    const offered = this.offered
    this.offered = undefined
    if (!offered) return
    if (!moved) return this.drop(offered)
    this.drop(this.current)
    this.current = offered
    this.unlink(offered.path)
    offered.path = ''
  }

  close(): void {
    this.closed = true
    try {
      this.stdin.end()
    } catch {}
    this.drop(this.offered)
    this.drop(this.current)
    this.offered = this.current = undefined
  }

  /** A FIFO made and held open, or undefined where it could not be. */
  private make(): Fifo | undefined {
    const name = `execd-bash-${this.nonce}-in${++this.made}`
    let dir = this.dir.path()
    if (!makeFifo(join(dir, name))) {
      const again = this.dir.remake?.()
      if (!again || !makeFifo(join((dir = again), name))) return undefined
    }
    const path = join(dir, name)
    removeFileAtExit(path)
    try {
      if (this.owner) chownSync(path, this.owner.uid, this.owner.gid)
      // Read and write: opening a FIFO for writing alone fails (ENXIO) until a reader has it.
      const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK)
      return { path, fd, shown: join(this.dir.shown?.(dir) ?? dir, name) }
    } catch {
      this.drop({ path, fd: -1 })
      return undefined
    }
  }

  private drop(fifo: Fifo | undefined): void {
    if (!fifo) return
    if (fifo.fd >= 0)
      try {
        closeSync(fifo.fd)
      } catch {}
    this.unlink(fifo.path)
  }

  private unlink(path: string): void {
    if (!path) return
    forgetAtExit(path)
    try {
      unlinkSync(path)
    } catch {}
  }
}
