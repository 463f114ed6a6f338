/** The opened files section's operations: bound once to its scope and limits, and `over` another root. */
import { afterAll, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSection } from '../../core/app'
import { PathScope } from '../../core/beneath/path-scope'
import { SERVER, optionSpecs, resolveConfig } from '../../core/config'
import { files } from '.'

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-files-ops-')))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const [root, other] = [join(dir, 'root'), join(dir, 'other')]
for (const d of [root, other]) mkdirSync(d)

const section = await openSection(
  files,
  resolveConfig([...optionSpecs(SERVER), ...(files.options ?? [])], { root, maxReplaceGrowth: 4, maxWalks: 1 }, {}),
)
afterAll(() => section.close())
const { ops } = section
const walksHeld = () => ops.held().find(h => h.what === 'concurrent walks')?.held

test('a replace is bounded by --max-replace-growth as opened: nothing written past it', async () => {
  writeFileSync(join(root, 'a.txt'), 'x x x')
  await expect(ops.replace({ 'a.txt': { old: 'x', new: 'xxxx' } })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
  expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('x x x')
  expect(await ops.replace({ 'a.txt': { old: 'x x', new: 'yy' } })).toEqual({ 'a.txt': { replacedCount: 1 } })
})

test('over another root: its paths, the same limits, the same walk slots', async () => {
  const view = ops.over(new PathScope(other))
  writeFileSync(join(other, 'b.txt'), 'x x x')
  await expect(view.replace({ 'b.txt': { old: 'x', new: 'xxxx' } })).rejects.toMatchObject({
    code: 'PAYLOAD_TOO_LARGE',
  })
  await expect(view.info(['a.txt'])).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' })
  // The view's walk takes the section's one slot (--max-walks 1) as it is asked, and holds it
  // until its answer is done with (what an unsent answer holds is the slot's to bound too).
  const asked = view.list('.', 1, 'GET /directories/list')
  expect(walksHeld()).toBe(1)
  const listing = await asked
  expect(walksHeld()).toBe(1)
  expect(listing.entries.map(e => e.name)).toEqual(['b.txt'])
  await listing.close()
  expect(walksHeld()).toBe(0)
})

test('a bad pattern is refused before a walk slot is asked for', async () => {
  expect(() => ops.search('.', '[', 'GET /files/search')).toThrow()
  expect(walksHeld()).toBe(0)
})
