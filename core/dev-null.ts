import { closeSync, constants, fstatSync, openSync } from 'node:fs'
import { requirePiece } from './capabilities'

/**
 * /dev/null, opened once for reading and once for writing (as the reference's exec.Cmd opens
 * it for a missing stdin and stdout) and handed to every child stream that is 'ignore'. Bun
 * would open the path in each child, with O_CREAT (without the device the child would make a
 * plain file there), so each spawn stat'ed it first: a statSync on the event loop before every
 * fork (~3% of a short command's main-thread samples) and an open in every child. A kept
 * descriptor of the device needs neither, and stays the device if the path is replaced later.
 * Not kept while missing: a container that gains it later works from then on.
 */
const devNull: { r?: number; w?: number } = {}

export function devNullFd(mode: 'r' | 'w'): number {
  const kept = devNull[mode]
  if (kept !== undefined) return kept
  let fd: number | undefined
  let failure: unknown
  try {
    // Never O_CREAT: a missing path is an error here, not a new plain file.
    fd = openSync('/dev/null', mode === 'r' ? constants.O_RDONLY : constants.O_WRONLY)
    if (fstatSync(fd).isCharacterDevice()) return (devNull[mode] = fd)
  } catch (err) {
    failure = err
  }
  if (fd !== undefined) closeSync(fd)
  requirePiece('/dev/null') // the 501 naming what is wrong with it
  throw failure ?? new Error('/dev/null is not a character device') // here after all (EMFILE…)
}
