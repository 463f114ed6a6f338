/**
 * Whether a chunk of output has a byte that keeps its lines from being framed as they are: one
 * a JSON string must escape (a control other than the line feed, `"`, `\`) or one that is not
 * ASCII. Looked at 64 bytes a step by a WebAssembly SIMD loop: a flood's 64 KiB reads took the
 * JavaScript table loop (core/lines.ts) 0.17–0.28 ms of CPU per MiB, the copy into the module's
 * memory and this scan 0.08–0.10 (the copy 0.02–0.03 of it; micro-benchmark, load 6–8): no
 * native call of the runtime looks for a set of bytes, and `isAscii` with an `indexOf` per
 * byte value would take 33 passes. `undefined` where the runtime has no WebAssembly SIMD: the
 * caller looks itself then.
 */

/** Bytes looked at per call: the module's memory is two pages, room for a window and its padding. */
const WINDOW = 64 * 1024

/** `v128.const` of one byte in every lane. */
const splat = (b: number): number[] => [0xfd, 0x0c, ...new Array<number>(16).fill(b)]
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body]
function leb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    out.push(b)
  } while (n)
  return out
}
const name = (s: string): number[] => [s.length, ...Buffer.from(s, 'latin1')]

/**
 * `dirty(len)`: whether `mem[0..len)` (len a multiple of STEP) has such a byte. Per 16 bytes: a
 * lane below 0x20 as a signed byte (a control, or 0x80 and up) and not a line feed, or `"`, or
 * `\`, ORed into an accumulator that is tested once at the end; four such lanes a step.
 */
const STEP = 64
const STEP_SLEB = [0xc0, 0x00]
// prettier-ignore
const lanes = (offset: number): number[] => [
  // v = mem[i + offset..][0..16]
  0x20, 1, 0xfd, 0x00, 4, offset, 0x21, 2,
  // acc |= (v <s 0x20 & ~(v == \n)) | v == '"' | v == '\'
  0x20, 3,
  0x20, 2, 0x20, 4, 0xfd, 0x25,
  0x20, 2, 0x20, 5, 0xfd, 0x23,
  0xfd, 0x4f, 0xfd, 0x50,
  0x20, 2, 0x20, 6, 0xfd, 0x23, 0xfd, 0x50,
  0x20, 2, 0x20, 7, 0xfd, 0x23, 0xfd, 0x50,
  0x21, 3,
]
// prettier-ignore
const LOOP = [
  // the four bytes compared with, in every lane, in locals 4-7
  ...splat(0x20), 0x21, 4, ...splat(0x0a), 0x21, 5, ...splat(0x22), 0x21, 6, ...splat(0x5c), 0x21, 7,
  // block, loop: out once i >= len
  0x02, 0x40, 0x03, 0x40,
  0x20, 1, 0x20, 0, 0x4f, 0x0d, 1,
  ...lanes(0), ...lanes(16), ...lanes(32), ...lanes(48),
  // i += STEP, round again
  0x20, 1, 0x41, ...STEP_SLEB, 0x6a, 0x21, 1,
  0x0c, 0, 0x0b, 0x0b,
  // any lane set
  0x20, 3, 0xfd, 0x53, 0x0b,
]
const BODY = [2, 1, 0x7f, 6, 0x7b, ...LOOP]
const MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
  ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]),
  ...section(3, [1, 0]),
  ...section(5, [1, 0, 2]),
  ...section(7, [2, ...name('dirty'), 0, 0, ...name('mem'), 2, 0]),
  ...section(10, [1, ...leb(BODY.length), ...BODY]),
])

interface Scanner {
  dirty: (len: number) => number
  mem: Uint8Array
}

let scanner: Scanner | null | undefined

/** Made on first use: a daemon whose commands print little never compiles it. */
function load(): Scanner | null {
  try {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(MODULE))
    const memory = exports.mem as WebAssembly.Memory
    return { dirty: exports.dirty as (len: number) => number, mem: new Uint8Array(memory.buffer) }
  } catch {
    return null
  }
}

/** Whether `chunk[from..]` has a byte to escape or not ASCII (a line feed is clean); undefined: no scanner. */
export function hasDirtyByte(chunk: Uint8Array, from: number): boolean | undefined {
  scanner ??= load()
  if (!scanner) return undefined
  const { dirty, mem } = scanner
  for (let at = from; at < chunk.length; at += WINDOW) {
    const n = Math.min(WINDOW, chunk.length - at)
    mem.set(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n))
    // the last step's bytes past the window are padding, clean
    const padded = Math.ceil(n / STEP) * STEP
    mem.fill(0x30, n, padded)
    if (dirty(padded)) return true
  }
  return false
}
