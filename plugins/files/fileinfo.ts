/** The reference's FileInfo JSON: lstat, never following symlinks; `mode` as octal digits. */
import type { BigIntStats } from 'node:fs'
import { lstat } from 'node:fs/promises'
import { badRequest } from '../../core/errors'
import { groupName, userName } from './owners'

export interface FileInfo {
  path: string
  type: 'file' | 'directory' | 'symlink' | 'other'
  size: number
  modified_at: string
  created_at: string
  owner: string
  group: string
  mode: number
  /** The path's exact bytes, base64, when they are not UTF-8 (`path` then shows them as `\xHH`). */
  path_base64?: string
}

export function kindOf(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): FileInfo['type'] {
  if (s.isSymbolicLink()) return 'symlink'
  if (s.isDirectory()) return 'directory'
  if (s.isFile()) return 'file'
  return 'other'
}

/** Permission bits written in octal and read back as decimal: 0o755 → 755 (the reference's wire form). */
const modeToWire = (mode: number): number => Number((mode & 0o777).toString(8))

/**
 * 755 → 0o755. Digits 8 or 9, negatives and more than four digits are refused. 0 means "leave as
 * is". A fourth digit's setuid, setgid and sticky bits are dropped (4755 → 0o755), as the
 * reference drops them: the mode read back (modeToWire, `& 0o777` as the reference's) is then the
 * mode the file has. They were set on the file (chmod, mkdir and upload alike) while every read
 * of it said 755, and a setuid file was one request away for anyone holding the token.
 */
export function modeFromWire(mode: number): number {
  if (!Number.isInteger(mode) || mode < 0 || !/^[0-7]{1,4}$/.test(String(mode))) {
    throw badRequest(`invalid mode ${mode}: octal digits expected (e.g. 755 or 644)`)
  }
  return parseInt(String(mode), 8) & 0o777
}

/** RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's RFC3339Nano in UTC. */
function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n)
  const seconds = new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '')
  return `${seconds}${frac ? `.${frac}` : ''}Z`
}

export function fileInfoFromStats(path: string, s: BigIntStats): FileInfo {
  return {
    path,
    type: kindOf(s),
    size: Number(s.size),
    modified_at: rfc3339Nano(s.mtimeNs),
    // The reference reports the inode change time here, on Linux.
    created_at: rfc3339Nano(s.ctimeNs),
    owner: userName(Number(s.uid)),
    group: groupName(Number(s.gid)),
    mode: modeToWire(Number(s.mode)),
  }
}

/** FileInfo of `target`, reported under `path`. */
export async function fileInfo(path: string, target = path): Promise<FileInfo> {
  return fileInfoFromStats(path, await lstat(target, { bigint: true }))
}
