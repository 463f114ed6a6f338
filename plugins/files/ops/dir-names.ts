/**
 * A directory's names as the walk holds them while it lists the directory: packed, one buffer
 * of their bytes with an offset and a kind apiece, sorted by their bytes (as Go sorts strings),
 * and made into a name (text, or bytes when not UTF-8) only as the walk comes to each. A
 * directory of 200,000 entries was held as an object and two strings a name (610,000 cells,
 * 24 MB of heap and the characters besides), and the collector let `execd fs ls` of it peak at
 * 143–205 MiB of RSS; packed it is ~20 bytes a name, and the peak 84–100.
 */
import { asName, type Name } from '../../../core/beneath/walk'
import { readNames } from '../../../core/beneath/dir-read'
import { sortIndices } from './sort-names'

const UNKNOWN = 0
const FILE = 1
const DIRECTORY = 2
const MAX_BYTES = 2 ** 32 - 1

export class DirNames {
  constructor(
    /** Name `k` is `bytes[starts[k], starts[k + 1])`. */
    private readonly bytes: Buffer,
    private readonly starts: Uint32Array,
    private readonly kinds: Uint8Array,
    /** The names' indices in byte order. */
    private readonly order: Uint32Array,
  ) {}

  get count(): number {
    return this.order.length
  }

  /** The `i`th name in order: text when it is exact UTF-8, else (a copy of) its bytes. */
  name(i: number): Name {
    const k = this.order[i]!
    return asName(this.bytes.subarray(this.starts[k], this.starts[k + 1]))
  }

  /** From the directory entry's type; undefined when the file system did not say. */
  isDirectory(i: number): boolean | undefined {
    const kind = this.kinds[this.order[i]!]
    return kind === UNKNOWN ? undefined : kind === DIRECTORY
  }
}

/**
 * The names of the directory open as `fd`, sorted by their bytes a slice at a time (for 99,000
 * names a sort by bytes of Buffers held the event loop 0.85 s: these compare in place).
 */
export async function readDirNames(fd: number): Promise<DirNames> {
  const packed = new Packed()
  await readNames(fd, packed.add)
  const { bytes, starts, count } = packed
  starts[count] = packed.used
  const compare = (a: number, b: number): number => {
    let i = starts[a]!
    let j = starts[b]!
    const aEnd = starts[a + 1]!
    const bEnd = starts[b + 1]!
    for (; i < aEnd && j < bEnd; i++, j++) {
      const d = bytes[i]! - bytes[j]!
      if (d !== 0) return d
    }
    return aEnd - i - (bEnd - j)
  }
  const order = await sortIndices(count, compare)
  return new DirNames(bytes, starts, packed.kinds, order)
}

/** The names as they are read, appended: each array doubled when full. */
class Packed {
  bytes = Buffer.allocUnsafe(16 * 1024)
  used = 0
  /** One more than the names: the last name's end. */
  starts = new Uint32Array(512)
  kinds = new Uint8Array(512)
  count = 0

  readonly add = (from: Buffer, start: number, end: number, isDirectory: boolean | undefined): void => {
    const length = end - start
    // The offsets are 32-bit: 4 GiB of names would be 16 million names of 255 bytes.
    if (this.used + length > MAX_BYTES) throw new RangeError('a directory whose names take more than 4 GiB')
    if (this.used + length > this.bytes.length) this.bytes = grown(this.bytes, this.used + length, Buffer.allocUnsafe)
    if (this.count + 2 > this.starts.length) {
      this.starts = grown(this.starts, this.count + 2, n => new Uint32Array(n))
      this.kinds = grown(this.kinds, this.count + 2, n => new Uint8Array(n))
    }
    this.starts[this.count] = this.used
    this.kinds[this.count] = isDirectory === undefined ? UNKNOWN : isDirectory ? DIRECTORY : FILE
    this.used += from.copy(this.bytes, this.used, start, end)
    this.count++
  }
}

function grown<T extends Uint8Array | Uint32Array>(old: T, least: number, make: (n: number) => T): T {
  const bigger = make(Math.max(least, old.length * 2))
  bigger.set(old)
  return bigger
}
