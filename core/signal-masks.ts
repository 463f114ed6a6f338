/**
 * The signal masks of a `/proc/<pid>/status` text (proc(5): SigIgn, SigCgt, SigBlk, SigPnd, in
 * hex, signal n at bit n − 1), with no import: `serve -- cmd`'s step (cmd/main-exec.ts) reads its
 * own before it execs, the bash runtime another process's.
 */
export type MaskName = 'SigIgn' | 'SigCgt' | 'SigBlk' | 'SigPnd' | 'ShdPnd'

/** The mask named, undefined where the text has none. */
export function signalMask(status: string, name: MaskName): bigint | undefined {
  const hex = new RegExp(`^${name}:\\s*([0-9a-f]{1,16})$`, 'm').exec(status)?.[1]
  return hex === undefined ? undefined : BigInt(`0x${hex}`)
}

/** The signal numbers a mask holds, lowest first. */
export function signalsIn(mask: bigint): number[] {
  const out: number[] = []
  for (let n = 1; n <= 64; n++) if ((mask >> BigInt(n - 1)) & 1n) out.push(n)
  return out
}
