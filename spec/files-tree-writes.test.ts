/**
 * Tree writes (DELETE /directories, a move to another filesystem) have a cap of their own
 * (--max-tree-writes): uncapped, 60 removals of 5,000-file trees at once took the loop's turns
 * from everything else, and a search beside them that takes 0.6 s alone took 16 s (load 10).
 * Counted here, not timed: with a cap of 1, the trees are seen removed one after another (at
 * most the one being removed and the next partly gone at a look), and every removal is done.
 */
import { afterAll, expect, test } from 'bun:test'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'

const TREES = 60
const FILES = 500
/** tmpfs: 30,000 files made in a moment, where the shared disk took 6 s for 20,000 (load 14). */
const base = mkdtempSync('/dev/shm/execd-spec-tree-writes-')
afterAll(() => rmSync(base, { recursive: true, force: true }))

const fx = daemonWithDir('tree-writes', () => {
  for (let i = 0; i < TREES; i++) {
    mkdirSync(join(base, `t${i}`))
    for (let j = 0; j < FILES; j++) closeSync(openSync(join(base, `t${i}`, `f${j}`), 'w'))
  }
  return { args: [], env: { EXECD_MAX_TREE_WRITES: '1' } }
})

/** Trees partly removed at one look: there, with fewer entries than they were made with. */
const partlyRemoved = () =>
  Array.from({ length: TREES }, (_, i) => {
    try {
      return readdirSync(join(base, `t${i}`)).length < FILES
    } catch {
      return false // removed whole
    }
  }).filter(Boolean).length

test('removals asked at once run at most --max-tree-writes at a time, and all are done', async () => {
  const removed = Promise.all(
    Array.from({ length: TREES }, (_, i) =>
      fx.d
        .fetch(`/directories?path=${encodeURIComponent(join(base, `t${i}`))}`, { method: 'DELETE' })
        .then(r => r.status),
    ),
  )
  let done = false
  void removed.then(() => (done = true))
  let most = 0
  while (!done) {
    most = Math.max(most, partlyRemoved())
    await Bun.sleep(1)
  }
  expect(await removed).toEqual(Array(TREES).fill(200))
  expect(Array.from({ length: TREES }, (_, i) => existsSync(join(base, `t${i}`))).filter(Boolean)).toEqual([])
  // One at a time, and the look may span the end of one and the start of the next. On a build
  // without the cap every tree was partly removed at once (60 at a look).
  expect(most).toBeLessThanOrEqual(2)
}, 120_000)

test('a bad path is refused at once, before any wait for a slot', async () => {
  const res = await fx.d.fetch('/directories?path=', { method: 'DELETE' })
  expect(res.status).toBe(400)
})
