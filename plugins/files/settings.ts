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
   * Who holds the pools the section names (core/held-slots.ts): the walks, and the process's
   * budget of upload directories (ops/upload.ts), which the isolated files view draws on too;
   * this section, whose routes take it, names its holders.
   */
  held(): Held[]
}

/**
 * Walks waiting for a slot: a waiting request holds its request and a timer, nothing walked yet.
 * Enough for a burst of small listings; a flood of big ones is refused at once past it.
 */
const WALKS_WAITING = 64
/** The longest a walk waits for a slot: a turn behind a few walks of 100,000 entries each. */
const WALK_WAIT_MS = 10_000

/** The scope and limits of this section, from the configuration (`--root` is the server's). */
export function filesSettings(config: Config): FilesSettings {
  const { maxWalks, maxUploadBytes, maxReplaceGrowth, downloadCopyMax, uploadMinRate, uploadRateWindow, root } =
    settingsOf(config, {
      ...OPTIONS,
      root: SERVER.root,
    })
  const walks = new Admission(new Capacity('concurrent walks', maxWalks, 'max-walks'), WALKS_WAITING, WALK_WAIT_MS)
  return {
    scope: new PathScope(root || undefined),
    maxUploadBytes: maxUploadBytes > 0 ? maxUploadBytes : Number.POSITIVE_INFINITY,
    maxReplaceGrowth: maxReplaceGrowth > 0 ? maxReplaceGrowth : Number.POSITIVE_INFINITY,
    downloadCopyMax,
    uploadMinRate: { bytesPerSecond: uploadRateWindow > 0 ? uploadMinRate : 0, windowMs: uploadRateWindow },
    walks,
    held: () => [uploadsHeld(), walks.pool.held()],
  }
}
