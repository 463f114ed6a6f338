/**
 * A replace's rewritten files, put in place a batch at a time (ops/commit-staged.ts): a request
 * of 1,000 small files waited for 2,000 fsyncs one after another (each file and its directory).
 * A batch is bounded in files, since each holds its directory open until it is renamed, and in
 * bytes, since each is a second copy of its file on the disk meanwhile.
 */
import { fstatSync } from 'node:fs'
import type { Staged } from '../atomic'
import type { Anchor } from '../../../core/beneath/walk'
import { commitTogether, type StagedIn } from './commit-staged'

/**
 * Files a batch holds before it is put in place: 64 share a directory's fsync (1,000 files into
 * one directory: 16 instead of 1,000), at 64 descriptors at most per request.
 */
const BATCH_FILES = 64
/** Bytes staged before the batch is put in place: a large file's fsync is its own data's wait. */
const BATCH_BYTES = 16 << 20

export class ReplaceBatch {
  private files: StagedIn[] = []
  private bytes = 0
  /** The entries staged, by their directory's device and inode and their name. */
  private readonly targets = new Set<string>()

  /**
   * Whether `anchor`'s entry is staged in this batch already: a second rewrite of it (two keys
   * naming one file, through `.` or a symlink) must read the first one's result, so the batch is
   * put in place before it is read.
   */
  holds(anchor: Anchor): boolean {
    return this.targets.has(targetOf(anchor))
  }

  /** Takes `staged` and its anchor (closed once the batch is put in place or dropped). */
  add(anchor: Anchor, staged: Staged): void {
    this.files.push({ anchor, staged })
    this.targets.add(targetOf(anchor))
    this.bytes += staged.bytes
  }

  get full(): boolean {
    return this.files.length >= BATCH_FILES || this.bytes >= BATCH_BYTES
  }

  /** Fsyncs, renames and releases every file of the batch; the batch is empty after, whatever happens. */
  async commit(): Promise<void> {
    const files = this.take()
    try {
      await commitTogether(files)
    } finally {
      await release(files)
    }
  }

  /** Removes every file of the batch, none put in place. */
  async drop(): Promise<void> {
    await release(this.take())
  }

  private take(): StagedIn[] {
    const files = this.files
    this.files = []
    this.bytes = 0
    this.targets.clear()
    return files
  }
}

function targetOf(anchor: Anchor): string {
  const dir = fstatSync(anchor.dir)
  return `${dir.dev}:${dir.ino}/${Buffer.from(anchor.name).toString('hex')}`
}

async function release(files: readonly StagedIn[]): Promise<void> {
  for (const f of files) {
    await f.staged.discard()
    f.anchor.close()
  }
}
