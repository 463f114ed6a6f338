import { describe, expect, test } from 'bun:test'
import { type Linked, LinkedList } from './linked-list'

interface Entry extends Linked<Entry> {
  n: number
}
const entry = (n: number): Entry => ({ n, prev: undefined, next: undefined })
const walk = (list: LinkedList<Entry>) => {
  const out: number[] = []
  for (let e = list.first; e; e = e.next) out.push(e.n)
  return out
}

describe('a list linked through its entries', () => {
  test('keeps the order entries came in, whichever leaves', () => {
    const list = new LinkedList<Entry>()
    const es = [1, 2, 3, 4].map(entry)
    for (const e of es) list.push(e)
    expect(walk(list)).toEqual([1, 2, 3, 4])
    list.remove(es[1]!)
    expect(walk(list)).toEqual([1, 3, 4])
    list.remove(es[0]!)
    list.remove(es[3]!)
    expect(walk(list)).toEqual([3])
    expect(list.size).toBe(1)
    list.push(entry(5))
    expect(walk(list)).toEqual([3, 5])
  })

  test('an emptied list holds nothing, and a removed entry no link into it', () => {
    const list = new LinkedList<Entry>()
    const [a, b] = [entry(1), entry(2)]
    list.push(a)
    list.push(b)
    list.remove(b)
    list.remove(a)
    expect(list.first).toBeUndefined()
    expect(list.size).toBe(0)
    expect([a.prev, a.next, b.prev, b.next]).toEqual([undefined, undefined, undefined, undefined])
    list.push(b)
    expect(walk(list)).toEqual([2])
  })
})
