import { expect, test } from 'bun:test'
import { Utf8Pieces } from './utf8-pieces'

const pieces = (bytes: Uint8Array, at: number[]): { ok: boolean; complete: boolean } => {
  const check = new Utf8Pieces()
  let from = 0
  let ok = true
  for (const cut of [...at, bytes.length]) {
    ok &&= check.push(bytes.subarray(from, cut))
    from = cut
  }
  return { ok, complete: check.complete }
}

test('text split inside each of its characters is UTF-8 whole', () => {
  const bytes = Buffer.from('aé€😀z')
  for (let cut = 0; cut <= bytes.length; cut++) expect(pieces(bytes, [cut])).toEqual({ ok: true, complete: true })
  for (let i = 1; i < bytes.length; i++)
    expect(
      pieces(
        bytes,
        Array.from({ length: i }, (_, k) => k + 1),
      ),
    ).toEqual({ ok: true, complete: true })
})

test('an invalid byte is refused in whichever piece it comes, a truncated character is not complete', () => {
  const bad = Buffer.concat([Buffer.from('ab€'), Buffer.from([0xff]), Buffer.from('cd')])
  for (let cut = 0; cut <= bad.length; cut++) expect(pieces(bad, [cut]).ok).toBe(false)
  const lone = Buffer.from([0x61, 0xe2, 0x82, 0x61])
  for (let cut = 0; cut <= lone.length; cut++) expect(pieces(lone, [cut]).ok).toBe(false)
  expect(pieces(Buffer.from('a€').subarray(0, 3), [2])).toEqual({ ok: true, complete: false })
})
