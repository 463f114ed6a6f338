/** What the racing sequences (races-processes.ts, races-files.ts) share. */
import type { Pending, Reply } from './stream'

export const LIMIT_MS = 20_000
export const after = (ms: number) => (ms ? Bun.sleep(ms) : Promise.resolve())
export const json = (r: Reply): any => {
  try {
    return JSON.parse(r.text)
  } catch {
    return {}
  }
}
export const all = async (ps: Pending[]) => Promise.all(ps.map(p => p.done))

/** Byte `i` of version `v`: never 0, different at every offset between two versions. */
export const pattern = (v: number, i: number): number => 1 + ((i * 31 + (i >> 12) * 7 + v * 101) % 254)
export function version(v: number, from: number, to: number): Buffer {
  const b = Buffer.allocUnsafe(to - from)
  for (let i = from; i < to; i++) b[i - from] = pattern(v, i)
  return b
}

/** A response's body read to its end, or as far as it came, with what cut it short. */
export async function readToEnd(res: Response): Promise<{ body: Buffer; cut: string }> {
  const chunks: Buffer[] = []
  let cut = ''
  try {
    const reader = res.body?.getReader()
    for (;;) {
      const next = await reader?.read()
      if (!next || next.done) break
      chunks.push(Buffer.from(next.value))
    }
  } catch (err) {
    cut = String(err).slice(0, 120)
  }
  return { body: Buffer.concat(chunks), cut }
}
