/** The reference's FileInfo JSON: lstat, never following symlinks; `mode` as octal digits. */
import { lstat } from 'node:fs/promises'
import { badRequest } from '../../core/errors'
import { accountNames, type AccountNames } from '../../core/owner-names'
import { entryStatOf, type EntryStat } from './stat-at'

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

/**
 * A time's text up to its seconds (`2026-12-03T10:00:00`), kept per second: a listing's entries
 * mostly share a few, and a Date and its ISO text made twice per entry were a third of a
 * FileInfo's cost. Bounded: cleared when full.
 */
const SECONDS = new Map<number, string>()
const SECONDS_KEPT = 4096

/** RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's RFC3339Nano in UTC. */
function rfc3339Nano(sec: number, nsec: number): string {
  let head = SECONDS.get(sec)
  if (head === undefined) {
    if (SECONDS.size >= SECONDS_KEPT) SECONDS.clear()
    head = new Date(sec * 1000).toISOString().slice(0, 19)
    SECONDS.set(sec, head)
  }
  if (nsec === 0) return `${head}Z`
  const digits = String(nsec).padStart(9, '0')
  let end = digits.length
  while (digits.charCodeAt(end - 1) === 0x30) end--
  return `${head}.${digits.slice(0, end)}Z`
}

/** Permission bits → their wire number, one per mode (0o755 → 755). */
const MODE_WIRE = Array.from({ length: 0o1000 }, (_, bits) => Number(bits.toString(8)))

const S_IFMT = 0o170000
const KINDS = new Map<number, FileInfo['type']>([
  [0o120000, 'symlink'],
  [0o040000, 'directory'],
  [0o100000, 'file'],
])

/** `names` once per answer (or batch): each lookup of them stats /etc/passwd and /etc/group. */
export function fileInfoFromStats(path: string, s: EntryStat, names: AccountNames = accountNames()): FileInfo {
  return {
    path,
    type: KINDS.get(s.mode & S_IFMT) ?? 'other',
    size: s.size,
    modified_at: rfc3339Nano(s.mtimeSec, s.mtimeNsec),
    // The reference reports the inode change time here, on Linux.
    created_at: rfc3339Nano(s.ctimeSec, s.ctimeNsec),
    owner: names.user(s.uid),
    group: names.group(s.gid),
    mode: MODE_WIRE[s.mode & 0o777]!,
  }
}

/** FileInfo of `target`, reported under `path`. */
export async function fileInfo(path: string, target = path): Promise<FileInfo> {
  return fileInfoFromStats(path, entryStatOf(await lstat(target, { bigint: true })))
}
