/** How `execd fs` prints files for people: `ls -l`-like rows, `stat` blocks, times in UTC. */
import type { FileInfo } from './fs-ops'
import { visible } from './visible'

/** `-rw-r--r--` from the wire mode (octal digits) and type. */
function modeString(info: FileInfo): string {
  const kind = { file: '-', directory: 'd', symlink: 'l', other: '?' }[info.type]
  const bits = parseInt(String(info.mode), 8)
  let out = kind
  for (let shift = 6; shift >= 0; shift -= 3) {
    const b = (bits >> shift) & 7
    out += (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (b & 1 ? 'x' : '-')
  }
  return out
}

/** A wire time (RFC 3339, UTC, nanoseconds) as the CLI prints every time: UTC to the second. */
export const when = (iso: string): string => `${iso.slice(0, 19)}Z`

/**
 * One line per entry, columns aligned like `ls -l`, a batch at a time as a listing streams: each
 * batch is aligned to the widest column seen so far (a column widens when a batch needs it and
 * stays wide), so a listing of one batch prints as it did whole.
 */
export function tableRows(): (entries: FileInfo[]) => string {
  let widths: number[] = []
  return entries => {
    if (!entries.length) return ''
    const rows = entries.map(e => [
      modeString(e),
      visible(e.owner),
      visible(e.group),
      String(e.size),
      when(e.modified_at),
      visible(e.path),
    ])
    widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), widths)
    return (
      rows
        .map(r =>
          r
            .map((c, i) => (i === 3 ? c.padStart(widths[i] ?? 0) : i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
            .join('  '),
        )
        .join('\n') + '\n'
    )
  }
}

export function describe(info: FileInfo): string {
  return [
    `path      ${visible(info.path)}`,
    `type      ${info.type}`,
    `size      ${info.size}`,
    `mode      ${info.mode} (${modeString(info)})`,
    `owner     ${visible(info.owner)}:${visible(info.group)}`,
    `modified  ${when(info.modified_at)}`,
    `changed   ${when(info.created_at)}`,
    '',
  ].join('\n')
}
