/**
 * The file operations `execd fs` drives, as one interface with two implementations: `localFs`
 * calls the files section's own operations on this machine (the opened section's scope), and
 * `remoteFs` (remote-fs.ts) the same routes of a running daemon over HTTP. The verbs (fs-verbs.ts)
 * know nothing of which one they hold, so both modes print and exit alike.
 */
import { openSection } from '../core/app'
import type { Config } from '../core/config'
import { files } from '../plugins/files'
import {
  deleteFiles,
  downloadFile,
  listingBatches,
  makeDirectories,
  moveFiles,
  removeDirectories,
  replaceInFiles,
  searchBatches,
  setPermissions,
  statFiles,
  writeFile,
  type FileInfo,
  type Permission,
} from '../plugins/files/contract'
import type { RawPath } from '../core/beneath/path-scope'
import { endOf, entriesOf } from './path-fields'

export type { FileInfo, Permission, RawPath }

export interface ReadRequest {
  path: RawPath
  /** `bytes=a-b` */
  range?: string
  offset?: string
  limit?: string
}

export interface FsOps {
  /** A directory's entries, a batch at a time as they are walked (or arrive). */
  list(path: RawPath, depth: number, signal?: AbortSignal): AsyncIterable<FileInfo[]>
  /** `omitMissing`: paths that do not exist are left out, not a 404 (one request for many). */
  stat(paths: RawPath[], opts?: { omitMissing?: boolean }): Promise<Record<string, FileInfo>>
  /** The download response: its body, and Content-Length for progress. */
  read(req: ReadRequest): Promise<Response>
  write(path: RawPath, perm: Permission, source: AsyncIterable<Uint8Array>): Promise<{ path: string; bytes: number }>
  remove(paths: RawPath[]): Promise<void>
  removeDirectories(paths: RawPath[]): Promise<void>
  /** `signal`: Ctrl-C stops a move to another filesystem (a copy), which leaves the source whole. */
  move(src: RawPath, dest: RawPath, signal?: AbortSignal): Promise<void>
  mkdir(paths: RawPath[], perm: Permission): Promise<void>
  chmod(paths: RawPath[], perm: Permission): Promise<void>
  /** The files found, a batch at a time as they are found (or arrive). */
  search(dir: RawPath, pattern?: string, signal?: AbortSignal): AsyncIterable<FileInfo[]>
  /** `signal`: Ctrl-C stops the rewrite, and the file stays as it was (no temp file left beside it). */
  replace(path: RawPath, old: string, replacement: string, signal?: AbortSignal): Promise<number>
  close(): Promise<void>
}

/** The files section opened here: its scope (`--root`) and operations. */
export async function localFs(config: Config): Promise<FsOps> {
  const section = await openSection(files, config)
  const { scope } = section.ops
  return {
    list: (path, depth, signal) => listingBatches(scope, path, depth, signal),
    stat: (paths, opts) => statFiles(scope, paths, opts),
    read: req => downloadFile(scope, { ...req, copyMax: section.ops.downloadCopyMax }),
    // The route's limit: without it a local put wrote past --max-upload-bytes (413 over HTTP).
    write: (path, perm, source) => writeFile(scope, { path, ...perm }, source, section.ops.maxUploadBytes),
    remove: paths => deleteFiles(scope, paths),
    removeDirectories: paths => removeDirectories(scope, paths),
    move: (src, dest, signal) => moveFiles(scope, [{ ...endOf('src', src), ...endOf('dest', dest) }], signal),
    mkdir: (paths, perm) => makeDirectories(scope, entriesOf(paths, perm)),
    chmod: (paths, perm) => setPermissions(scope, entriesOf(paths, perm)),
    search: (dir, pattern, signal) => searchBatches(scope, dir, pattern, signal),
    // The route's limit and its abort on a client gone: without them a local replace grew a file
    // past --max-replace-growth (413 over HTTP), and Ctrl-C left its half-written temp beside it.
    replace: async (path, old, replacement, signal) =>
      (
        await replaceInFiles(scope, entriesOf([path], { old, new: replacement }), signal, {
          maxGrowth: section.ops.maxReplaceGrowth,
        })
      )[String(path)]?.replacedCount ?? 0,
    close: async () => void (await section.close()),
  }
}
