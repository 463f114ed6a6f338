import { describe, expect, test } from 'bun:test'
import { ReplayRing } from './ring'

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (r: { bytes: Uint8Array } | null) => (r ? new TextDecoder().decode(r.bytes) : null)

describe('ReplayRing', () => {
  test('an empty ring allocates nothing and replays nothing', () => {
    const ring = new ReplayRing(8)
    expect(ring.readFrom(0)).toBeNull()
    expect(ring.total).toBe(0)
  })

  test('replays from an offset with its absolute position', () => {
    const ring = new ReplayRing(8)
    ring.append(bytes('hello'))
    expect(ring.readFrom(0)).toEqual({ offset: 0, bytes: bytes('hello') })
    expect(ring.readFrom(3)).toEqual({ offset: 3, bytes: bytes('lo') })
    expect(ring.readFrom(5)).toBeNull()
    expect(ring.readFrom(99)).toBeNull()
  })

  test('keeps the newest bytes across the wrap and clamps old offsets to the oldest retained', () => {
    const ring = new ReplayRing(8)
    ring.append(bytes('abcdef'))
    ring.append(bytes('ghijk'))
    expect(ring.total).toBe(11)
    expect(ring.oldest).toBe(3)
    const r = ring.readFrom(0)
    expect(r?.offset).toBe(3)
    expect(text(r)).toBe('defghijk')
    expect(text(ring.readFrom(9))).toBe('jk')
  })

  test('a chunk larger than the ring keeps its tail and counts every byte', () => {
    const ring = new ReplayRing(4)
    ring.append(bytes('x'))
    ring.append(bytes('0123456789'))
    expect(ring.total).toBe(11)
    expect(ring.readFrom(0)).toEqual({ offset: 7, bytes: bytes('6789') })
  })

  test('offsets stay monotonic after many wraps', () => {
    const ring = new ReplayRing(5)
    let all = ''
    for (let i = 0; i < 50; i++) {
      const chunk = String(i % 10).repeat((i % 3) + 1)
      all += chunk
      ring.append(bytes(chunk))
    }
    expect(ring.total).toBe(all.length)
    expect(text(ring.readFrom(0))).toBe(all.slice(-5))
  })
})
