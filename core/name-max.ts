/**
 * NAME_MAX, and a name cut to fit beside a temp name's marker. A file staged beside its target
 * (an upload's, a replace's, a move's, `execd fs get`'s) is named after it with a dot and a suffix
 * added: a target's name valid itself (Linux takes 255 bytes) made a temp name too long and the
 * write failed as "file name too long". Both the daemon's staging (core/beneath/staging.ts) and the
 * CLI's download (cmd/fs-transfer.ts) cut here, so a name is cut the same way whoever writes it.
 */

/** The longest name Linux's filesystems take (NAME_MAX), in bytes. */
export const NAME_MAX = 255

/** The most continuation bytes (10xxxxxx) a UTF-8 character has. */
const LONGEST_TAIL = 3

/**
 * The longest start of `name` that leaves `room` bytes free within NAME_MAX, ended at a whole
 * UTF-8 character (a name that is not UTF-8 steps back at most three bytes: it is bytes, and any
 * cut of them is a name). `name` itself when it fits.
 */
export function nameStartWithin(name: Buffer, room: number): Buffer {
  const bytes = Math.max(0, NAME_MAX - room)
  if (name.length <= bytes) return name
  let end = bytes
  // A continuation byte at the cut means a character is split: step back to its start.
  while (end > 0 && bytes - end < LONGEST_TAIL && (name[end]! & 0xc0) === 0x80) end--
  return name.subarray(0, end)
}
