/**
 * File names are bytes; JSON strings are Unicode. A path that is valid UTF-8 is reported as
 * is (the reference's field, unchanged). One that is not keeps its valid parts, writes each
 * stray byte as `\xHH` (lowercase hex, as Python's backslashreplace) in `path`, and carries
 * its exact bytes, base64, in `path_base64`: the lossless form, present only then.
 */

interface DecodedName {
  /** `\xHH` for each byte that is not part of valid UTF-8: what `path` shows. */
  escaped: string
  /** U+FFFD for each such byte: what the search glob matches against (one character each). */
  lossy: string
  valid: boolean
}

const fatal = new TextDecoder('utf-8', { fatal: true })

export function decodeName(bytes: Uint8Array): DecodedName {
  try {
    const text = fatal.decode(bytes)
    return { escaped: text, lossy: text, valid: true }
  } catch {
    // Invalid somewhere: decode sequence by sequence below.
  }
  let escaped = ''
  let lossy = ''
  for (let i = 0; i < bytes.length;) {
    const n = sequenceLength(bytes, i)
    if (n === 0) {
      escaped += `\\x${(bytes[i] ?? 0).toString(16).padStart(2, '0')}`
      lossy += '\uFFFD'
      i++
    } else {
      const text = fatal.decode(bytes.subarray(i, i + n))
      escaped += text
      lossy += text
      i += n
    }
  }
  return { escaped, lossy, valid: false }
}

/** Length of the valid UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates), or 0. */
function sequenceLength(b: Uint8Array, i: number): number {
  const lead = b[i]
  if (lead === undefined) return 0
  if (lead < 0x80) return 1
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const byte = b[i + k]
    return byte !== undefined && byte >= lo && byte <= hi
  }
  if (lead >= 0xc2 && lead <= 0xdf) return cont(1) ? 2 : 0
  if (lead >= 0xe0 && lead <= 0xef) {
    const lo = lead === 0xe0 ? 0xa0 : 0x80
    const hi = lead === 0xed ? 0x9f : 0xbf
    return cont(1, lo, hi) && cont(2) ? 3 : 0
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    const lo = lead === 0xf0 ? 0x90 : 0x80
    const hi = lead === 0xf4 ? 0x8f : 0xbf
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0
  }
  return 0
}
