/**
 * The file operations `execd fs` drives, as one interface with two implementations: `localFs`
 * calls the opened files section's `ops` on this machine (its scope and limits, bound there as
 * for its routes), and
 * `remoteFs` (remote-fs.ts) the same routes of a running daemon over HTTP. The verbs (fs-verbs.ts)
 * know nothing of which one they hold, so both modes print and exit alike.
 */
import { openSection } from '../core/app'
import type { Config } from '../core/config'
import { files } from '../plugins/files'
import type { FileInfo, Permission } from '../plugins/files/contract'
import type { RawPath } from '../core/beneath/path-scope'
import { endOf, entriesOf } from './path-fields'

export type { FileInfo, Permission, RawPath }

export interface ReadRequest {
  path: RawPath
  /** `bytes=a-b` */
  range?: string
  offset?: string
  limit?: string
  /** A progress line draws a stall (`no bytes for 3s`): a remote download need not say it too. */
  stallDrawn?: boolean
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

/** The files section opened here: its operations, with its scope (`--root`) and limits. */
export async function localFs(config: Config): Promise<FsOps> {
  const section = await openSection(files, config)
  const { ops } = section
  return {
    list: (path, depth, signal) => ops.listBatches(path, depth, signal),
    stat: (paths, opts) => ops.info(paths, opts),
    read: req => ops.download(req),
    write: (path, perm, source) => ops.write({ path, ...perm }, source),
    remove: paths => ops.remove(paths),
    removeDirectories: paths => ops.removeDirectories(paths),
    move: (src, dest, signal) => ops.move([{ ...endOf('src', src), ...endOf('dest', dest) }], signal),
    mkdir: (paths, perm) => ops.mkdir(entriesOf(paths, perm)),
    chmod: (paths, perm) => ops.chmod(entriesOf(paths, perm)),
    search: (dir, pattern, signal) => ops.searchBatches(dir, pattern, signal),
    replace: async (path, old, replacement, signal) =>
      (await ops.replace(entriesOf([path], { old, new: replacement }), signal))[String(path)]?.replacedCount ?? 0,
    close: async () => void (await section.close()),
  }
}
