import { afterAll, describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { contains, countMatches, replacing } from './replace-stream'

const dir = mkdtempSync(join(tmpdir(), 'execd-replace-stream-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The whole-buffer replace-all the streaming one must equal. */
function replaceAll(content: Buffer, old: Buffer, rep: Buffer): [Buffer, number] {
  const parts: Buffer[] = []
  let count = 0
  let from = 0
  for (let at = content.indexOf(old); at >= 0; at = content.indexOf(old, from)) {
    parts.push(content.subarray(from, at), rep)
    from = at + old.length
    count++
  }
  parts.push(content.subarray(from))
  return [Buffer.concat(parts), count]
}

async function streamed(
  content: Buffer,
  old: Buffer,
  rep: Buffer,
  chunk: number,
): Promise<[Buffer, number, boolean, number]> {
  const file = join(dir, 'f')
  writeFileSync(file, content)
  const handle = await open(file, 'r')
  try {
    const counter = { count: 0 }
    const out: Buffer[] = []
    for await (const piece of replacing(handle, old, rep, counter, chunk)) out.push(Buffer.from(piece))
    const found = await contains(handle, old, chunk)
    return [Buffer.concat(out), counter.count, found, await countMatches(handle, old, undefined, chunk)]
  } finally {
    await handle.close()
  }
}

describe('replacing (streamed replace-all)', () => {
  test('a match split across two reads is found; matches do not overlap', async () => {
    const [out, count] = await streamed(Buffer.from('xxabcabcxx-aaaa'), Buffer.from('abc'), Buffer.from('Z'), 4)
    expect([out.toString(), count]).toEqual(['xxZZxx-aaaa', 2])
    const [out2, count2] = await streamed(Buffer.from('aaaaa'), Buffer.from('aa'), Buffer.from('b'), 3)
    expect([out2.toString(), count2]).toEqual(['bba', 2])
  })
  test('equals a whole-buffer replace for any content, pattern and read size', async () => {
    const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map(a => Buffer.from(a.map(b => b % 3)))
    await fc.assert(
      fc.asyncProperty(
        bytes(200),
        bytes(6).filter(b => b.length > 0),
        bytes(4),
        fc.integer({ min: 1, max: 17 }),
        async (content, old, rep, chunk) => {
          const [want, wantCount] = replaceAll(content, old, rep)
          const [got, count, found, counted] = await streamed(content, old, rep, chunk)
          expect(got.equals(want)).toBe(true)
          expect(count).toBe(wantCount)
          expect(found).toBe(wantCount > 0)
          expect(counted).toBe(wantCount)
        },
      ),
      { numRuns: 300 },
    )
  })
  test('hands on pieces of at most 1 MiB (or one replacement) however much a chunk grows', async () => {
    const file = join(dir, 'everywhere')
    const wide = Buffer.alloc(64 * 1024, 'w')
    const huge = Buffer.alloc(3 << 19, 'h') // 1.5 MiB: larger than the slab, handed on by itself
    for (const [matches, rep] of [
      [1024, wide],
      [16, huge],
    ] as const) {
      writeFileSync(file, Buffer.alloc(matches, 'a'))
      const handle = await open(file, 'r')
      try {
        const counter = { count: 0 }
        let largest = 0
        let total = 0
        for await (const piece of replacing(handle, Buffer.from('a'), rep, counter)) {
          largest = Math.max(largest, piece.length)
          total += piece.length
          expect([piece[0], piece.at(-1)]).toEqual([rep[0], rep[0]])
        }
        // A chunk's matches were one piece of all their replacements: 64 MiB, then 24 MiB.
        expect(largest).toBeLessThanOrEqual(Math.max(1 << 20, rep.length))
        expect([total, counter.count]).toEqual([matches * rep.length, matches])
      } finally {
        await handle.close()
      }
    }
  }, 60_000)
})
