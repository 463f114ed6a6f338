/**
 * The files section's scope and limits from the configuration (`--root` is the server's), apart
 * from its index.ts: the scope resolves paths with node:fs, which loads when the section opens
 * (after serve listens), not with the section list.
 */
import { SERVER, settingsOf, type Config } from '../../core/config'
import { Admission } from '../../core/admission'
import type { Held } from '../../core/held-slots'
import { Capacity } from '../../core/limits'
import type { MinRateLimits } from '../../core/min-rate'
import { OPTIONS } from './options'
import { PathScope } from '../../core/beneath/path-scope'
import { uploadsHeld } from './ops/upload'

/** What the opened section's operations are bound to (files-ops.ts). */
export interface FilesSettings {
  scope: PathScope
  /** Largest upload body accepted; larger → 413. */
  maxUploadBytes: number
  /** Bytes one replace request may add to its files; more → 413 before any is written. */
  maxReplaceGrowth: number
  /** Largest download copied before it is sent (core/file-snapshot.ts); 0: none. */
  downloadCopyMax: number
  /** The slowest an upload body may arrive; slower → 408 (core/min-rate.ts). */
  uploadMinRate: MinRateLimits
  /** Searches' and listings' walks at once (--max-walks), with their line; the isolated view's too. */
  walks: Admission
  /**
   * Tree removals and moves to another filesystem at once (--max-tree-writes), with their line:
   * a pool of their own, so that they never wait behind searches nor searches behind them.
   */
  treeWrites: Admission
  /**
   * Who holds the pools the section names (core/held-slots.ts): the walks, the tree writes, and the process's
   * budget of upload directories (ops/upload.ts), which the isolated files view draws on too;
   * this section, whose routes take it, names its holders.
   */
  held(): Held[]
}

/**
 * Walks (and, in their own line, tree writes) waiting for a slot: a waiting request holds its request and a timer, nothing walked yet.
 * Enough for a burst of small listings; a flood of big ones is refused at once past it.
 */
const WALKS_WAITING = 64
/** The longest a walk waits for a slot: a turn behind a few walks of 100,000 entries each. */
const WALK_WAIT_MS = 10_000

/**
 * The longest a tree write waits for a slot. Longer than a walk's: a write half done is worse
 * than a wait, and one refused must be asked again. 60 removals of 5,000-file trees at once,
 * four at a time, took 16 s together (load 10); 60 s leaves room for trees four times that.
 */
const TREE_WRITE_WAIT_MS = 60_000

/** The scope and limits of this section, from the configuration (`--root` is the server's). */
export function filesSettings(config: Config): FilesSettings {
  const {
    maxWalks,
    maxTreeWrites,
    maxUploadBytes,
    maxReplaceGrowth,
    downloadCopyMax,
    uploadMinRate,
    uploadRateWindow,
    root,
  } = settingsOf(config, {
    ...OPTIONS,
    root: SERVER.root,
  })
  const walks = new Admission(new Capacity('concurrent walks', maxWalks, 'max-walks'), WALKS_WAITING, WALK_WAIT_MS)
  const treeWrites = new Admission(
    new Capacity('concurrent tree writes', maxTreeWrites, 'max-tree-writes'),
    WALKS_WAITING,
    TREE_WRITE_WAIT_MS,
  )
  return {
    scope: new PathScope(root || undefined),
    maxUploadBytes: maxUploadBytes > 0 ? maxUploadBytes : Number.POSITIVE_INFINITY,
    maxReplaceGrowth: maxReplaceGrowth > 0 ? maxReplaceGrowth : Number.POSITIVE_INFINITY,
    downloadCopyMax,
    uploadMinRate: { bytesPerSecond: uploadRateWindow > 0 ? uploadMinRate : 0, windowMs: uploadRateWindow },
    walks,
    treeWrites,
    held: () => [uploadsHeld(), walks.pool.held(), treeWrites.pool.held()],
  }
}
