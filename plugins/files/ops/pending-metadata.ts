/**
 * The metadata parts of one upload that wait for their file parts, bounded per upload and across
 * all uploads. They were kept without a bound: 40,000 metadata parts of 4 KiB paths and no file
 * part grew execd by 195 MiB, linearly in the body, and uploads have no size limit by default.
 * The bound per upload then left one across uploads: 20 uploads each holding 15.5 MiB of parts
 * and waiting grew execd from 57 to 416 MiB (peak 556), ~36 GiB at --max-requests 2048. The
 * official SDKs send each metadata part just before its file part, so an upload's first part
 * waiting is never refused for what the others hold: one client cannot starve the rest.
 */
import { ExecdError } from '../../../core/errors'
import type { RawPath } from '../../../core/beneath/path-scope'

/** What the parts waiting in one upload may hold (their paths, plus a fixed cost per part). */
const MAX_PER_UPLOAD = 16 * 1024 * 1024
/** What the parts waiting in every upload may hold together (the memory is the process's). */
const MAX_ALL = 64 * 1024 * 1024
const PART_COST = 256

/** Bytes of parts waiting in every upload of the process, each upload's first one included. */
let allBytes = 0

/** Bytes of metadata parts waiting in every upload now (for tests). */
export const pendingMetadataBytes = (): number => allBytes

const costOf = (meta: { path: RawPath }) =>
  PART_COST + (typeof meta.path === 'string' ? meta.path.length : meta.path.bytes.length)

export class PendingMetadata<M extends { path: RawPath }> {
  private readonly parts: M[] = []
  private bytes = 0

  get length(): number {
    return this.parts.length
  }

  /** Keeps `meta` until its file part; 413 past the upload's bound, 503 past every upload's. */
  push(meta: M): void {
    const cost = costOf(meta)
    if (this.bytes + cost > MAX_PER_UPLOAD) {
      throw new ExecdError(
        'PAYLOAD_TOO_LARGE',
        `too many metadata parts wait for their file parts (${this.parts.length + 1}, over ` +
          `${MAX_PER_UPLOAD} bytes of paths): send each metadata part just before its file part`,
      )
    }
    if (this.parts.length > 0 && allBytes + cost > MAX_ALL) {
      throw new ExecdError(
        'SERVICE_UNAVAILABLE',
        `limit reached: metadata parts waiting for their file parts hold ${allBytes} bytes in all uploads, ` +
          `at most ${MAX_ALL}: send each metadata part just before its file part`,
      )
    }
    this.parts.push(meta)
    this.bytes += cost
    allBytes += cost
  }

  /** The oldest part waiting, given up by the count. */
  shift(): M | undefined {
    const meta = this.parts.shift()
    if (meta) {
      const cost = costOf(meta)
      this.bytes -= cost
      allBytes -= cost
    }
    return meta
  }

  /** Gives up every part still waiting: the upload ended, whole or not. */
  clear(): void {
    allBytes -= this.bytes
    this.bytes = 0
    this.parts.length = 0
  }
}
