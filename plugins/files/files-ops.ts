/**
 * The files section's operations, each bound once to the section's scope and limits: what its
 * routes call and what `execd fs` calls on this machine (cmd/fs-ops.ts), so a limit reaches both
 * from here. The plain functions of a scope are in ops/; nothing else calls them
 * (core/layout.test.ts). The isolated section serves the same routes over a session's view
 * with `over(scope)`: these limits, that root.
 */
import type { Held } from '../../core/held-slots'
import { ServiceKey } from '../../core/registry'
import type { Wanted } from '../../core/slot-wants'
import type { PathScope, RawPath } from '../../core/beneath/path-scope'
import { downloadFile } from './ops/download'
import { statFiles } from './ops/info'
import { listingBatches, openListing, type Listing } from './ops/list'
import { makeDirectories } from './ops/mkdir'
import { moveFiles, type TreeWriteSlot } from './ops/move'
import { setPermissions } from './ops/permissions'
import { deleteFiles, removeDirectories } from './ops/remove'
import { replaceInFiles } from './ops/replace'
import { openSearch, searchBatches } from './ops/search'
import { uploadFiles, writeFile } from './ops/upload'
import { WALK_LIMITS, type WalkLimits } from './ops/walk'
import type { FilesSettings } from './settings'

/** What an operation of ops/ takes after its scope. */
type After<F> = F extends (scope: PathScope, ...rest: infer R) => unknown ? R : never
/** A download as asked: its copy bound comes from the settings. */
type DownloadAsked = Omit<After<typeof downloadFile>[0], 'copyMax'>

/**
 * The opened files section: the registry's key under which the isolated section finds it (it
 * opens after this one, in list order) to serve the files routes over a session's view.
 */
export const FILES_OPS = new ServiceKey<FilesOps>('files-ops')

export class FilesOps {
  readonly scope: PathScope
  constructor(private readonly settings: FilesSettings) {
    this.scope = settings.scope
  }

  /** The walks' line (--max-walks): a walk waiting in it may end one whose client stalled. */
  get walks(): Wanted {
    return this.settings.walks
  }

  /** These operations over another root, with the same limits and the same walk slots. */
  over(scope: PathScope): FilesOps {
    return new FilesOps({ ...this.settings, scope })
  }

  /** Who holds the section's pools (core/held-slots.ts), the isolated view's uses included. */
  held(): Held[] {
    return this.settings.held()
  }

  /** Largest upload body accepted (--max-upload-bytes): the route refuses a larger declared length at once. */
  get maxUploadBytes(): number {
    return this.settings.maxUploadBytes
  }

  info(paths: readonly RawPath[], opts?: { omitMissing?: boolean }) {
    return statFiles(this.scope, paths, opts)
  }

  download(req: DownloadAsked) {
    return downloadFile(this.scope, { ...req, copyMax: this.settings.downloadCopyMax })
  }

  /** A multipart body, bounded by --max-upload-bytes and --upload-min-rate. */
  upload(body: ReadableStream<Uint8Array> | null, contentType: string | null, signal?: AbortSignal) {
    const { maxUploadBytes, uploadMinRate } = this.settings
    return uploadFiles(this.scope, body, contentType, maxUploadBytes, uploadMinRate, signal)
  }

  /** One file from a stream of chunks (`execd fs put`), bounded by --max-upload-bytes as an upload is. */
  write(meta: After<typeof writeFile>[0], chunks: After<typeof writeFile>[1]) {
    return writeFile(this.scope, meta, chunks, this.settings.maxUploadBytes)
  }

  /** Bounded by --max-replace-growth; `signal` stops the rewrite, the file left as it was. */
  replace(entries: After<typeof replaceInFiles>[0], signal?: AbortSignal) {
    return replaceInFiles(this.scope, entries, signal, { maxGrowth: this.settings.maxReplaceGrowth })
  }

  /**
   * `queued`: the name a move to another filesystem (a copy, then a removal) waits under for a
   * --max-tree-writes slot, the route's; the CLI's own moves take none (a person's, as its walks).
   */
  move(items: After<typeof moveFiles>[0], signal?: AbortSignal, queued?: string) {
    return moveFiles(this.scope, items, signal, this.treeWrite(queued, signal))
  }

  chmod(...args: After<typeof setPermissions>) {
    return setPermissions(this.scope, ...args)
  }

  mkdir(...args: After<typeof makeDirectories>) {
    return makeDirectories(this.scope, ...args)
  }

  remove(...args: After<typeof deleteFiles>) {
    return deleteFiles(this.scope, ...args)
  }

  /** `queued`, `signal`: as `move`'s, the removals waiting for a --max-tree-writes slot. */
  removeDirectories(paths: readonly RawPath[], queued?: string, signal?: AbortSignal) {
    return removeDirectories(this.scope, paths, this.treeWrite(queued, signal))
  }

  /**
   * A listing answered whole (the route's), its walk in one of the --max-walks slots
   * (core/admission.ts) from before the walk until its `close()` — the answer's last FileInfo
   * sent, or its client gone. The slot bounds what answers hold as well as the walks' work: let
   * go once the walk was gathered (as this stop first had it), 40 clients that never read a
   * 60,000-entry listing held 40 answers, execd 58 → 600 MB, and --max-requests would have let
   * 2,048 in. A client that does not read holds its slot until Bun's idle timeout closes its
   * connection (left: a stall rule on the send queue, as core/socket-body.ts has for downloads).
   * `kind` names the waiter in a refusal.
   */
  list(raw: RawPath, depth: number, kind: string, signal?: AbortSignal): Promise<Listing> {
    return this.walked(kind, signal, limits => openListing(this.scope, raw, depth, limits))
  }

  /** As `list`; a bad pattern is refused at once, before any wait for a slot. */
  search(raw: RawPath, pattern: string | undefined, kind: string, signal?: AbortSignal): Promise<Listing> {
    const open = openSearch(this.scope, raw, pattern)
    return this.walked(kind, signal, open)
  }

  /** A listing a batch at a time as it is walked, uncapped (`execd fs ls` prints as it goes). */
  listBatches(raw: RawPath, depth: number, signal?: AbortSignal) {
    return listingBatches(this.scope, raw, depth, signal)
  }

  /** A search a batch at a time as it is walked, uncapped (`execd fs search`). */
  searchBatches(raw: RawPath, pattern: string | undefined, signal?: AbortSignal) {
    return searchBatches(this.scope, raw, pattern, signal)
  }

  private async walked(
    kind: string,
    signal: AbortSignal | undefined,
    open: (limits: WalkLimits) => Promise<Listing>,
  ): Promise<Listing> {
    const release = await this.settings.walks.enter(kind, signal)
    let listing: Listing
    try {
      listing = await open({ ...WALK_LIMITS, signal })
    } catch (err) {
      release()
      throw err
    }
    return { ...listing, close: () => listing.close().finally(release) }
  }

  private treeWrite(queued: string | undefined, signal?: AbortSignal): TreeWriteSlot | undefined {
    return queued === undefined ? undefined : () => this.settings.treeWrites.enter(queued, signal)
  }
}
