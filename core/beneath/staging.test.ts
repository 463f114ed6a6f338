import { afterAll, describe, expect, test } from 'bun:test'
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OwnedTempDir } from '../temp-dir'
import { StagedEntries, commitAsideName, tempNameFor } from './staging'
import { dropLockAsKilled } from '../../spec/kit/killed-lock'

const dir = mkdtempSync(join(tmpdir(), 'execd-staging-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const made = (path: string) => lstatSync(path, { bigint: true })

describe('staged entries', () => {
  test('closing removes what is still staged, a whole tree included, and forgets what was done', async () => {
    const staging = new StagedEntries()
    staging.open()
    const file = tempNameFor('f')
    writeFileSync(join(dir, file), 'partial')
    staging.track(dir, file, made(join(dir, file)))
    const tree = tempNameFor('t')
    mkdirSync(join(dir, tree, 'sub'), { recursive: true })
    writeFileSync(join(dir, tree, 'sub', 'x'), 'x')
    staging.track(dir, tree, made(join(dir, tree)))
    const placed = tempNameFor('p')
    writeFileSync(join(dir, placed), 'placed')
    staging.track(dir, placed, made(join(dir, placed))).done()
    await staging.close()
    expect([existsSync(join(dir, file)), existsSync(join(dir, tree)), existsSync(join(dir, placed))]).toEqual([
      false,
      false,
      true,
    ])
  })

  test('an entry that is no longer the one made, or not named as staged, is never removed', async () => {
    const staging = new StagedEntries()
    staging.open()
    const name = tempNameFor('g')
    writeFileSync(join(dir, name), 'staged')
    staging.track(dir, name, made(join(dir, name)))
    // Another file takes the name (another inode): it is not execd's.
    writeFileSync(join(dir, 'other'), 'a user file')
    renameSync(join(dir, 'other'), join(dir, name))
    writeFileSync(join(dir, 'plain'), 'a user file')
    staging.track(dir, 'plain', made(join(dir, 'plain')))
    await staging.close()
    expect(readFileSync(join(dir, name), 'utf8')).toBe('a user file')
    expect(readFileSync(join(dir, 'plain'), 'utf8')).toBe('a user file')
  })

  test('the same file tracked twice (placed, then put aside by the next request) has a journal link each', async () => {
    const root = mkdtempSync(join(dir, 'root-'))
    const staging = new StagedEntries(root)
    staging.open()
    const name = tempNameFor('k')
    writeFileSync(join(dir, name), 'k')
    const id = made(join(dir, name))
    const links = () => {
      const journal = readdirSync(root).find(n => n.startsWith('execd-staged'))!
      return readdirSync(join(root, journal)).filter(n => /^\d+-/.test(n))
    }
    // A forgotten entry's link is removed through the thread pool: under one name, that removal
    // could land after the second link was written, and take it.
    const first = staging.track(dir, name, id)
    staging.track(dir, name, id)
    expect(links()).toHaveLength(2)
    await first.done()
    expect(links()).toHaveLength(1)
    await staging.close()
  })

  test('once the last section has closed, staging is refused as execd shutting down', async () => {
    const staging = new StagedEntries()
    staging.open()
    staging.open()
    await staging.close()
    expect(() => staging.track(dir, tempNameFor('h'), { dev: 0n, ino: 0n, birthtimeNs: 0n })).not.toThrow()
    await staging.close()
    expect(() => staging.track(dir, tempNameFor('h'), { dev: 0n, ino: 0n, birthtimeNs: 0n })).toThrow('shutting down')
  })
})

/**
 * A journal as a killed execd leaves it in `root`, naming `staged` (its lock's socket there,
 * nobody listening); with `putBack`, as a user's entry put aside from that name.
 */
function abandonedJournal(root: string, staged: string, putBack?: string): string {
  const journal = new OwnedTempDir('execd-staged', root)
  const path = journal.ensure()
  const s = lstatSync(staged, { bigint: true })
  const link = join(path, `${s.dev}-${s.ino}-${s.birthtimeNs}`)
  if (putBack) symlinkSync(putBack, `${link}.back`)
  symlinkSync(staged, link)
  dropLockAsKilled(journal)
  return path
}

describe('journals left by a killed execd', () => {
  test('the first open removes the entries a journal of this user names, and the journal', async () => {
    const root = mkdtempSync(join(dir, 'root-'))
    const staged = join(dir, tempNameFor('k'))
    writeFileSync(staged, 'partial')
    const journal = abandonedJournal(root, staged)
    await new StagedEntries(root).open()
    expect([existsSync(staged), existsSync(journal)]).toEqual([false, false])
  })

  test.skipIf(process.getuid?.() !== 0)('a journal of another user names nothing execd removes', async () => {
    const root = mkdtempSync(join(dir, 'root-'))
    const staged = join(dir, tempNameFor('m'))
    writeFileSync(staged, 'a file of the user')
    const journal = abandonedJournal(root, staged)
    chownSync(journal, 65534, 65534)
    await new StagedEntries(root).open()
    expect(readFileSync(staged, 'utf8')).toBe('a file of the user')
    expect(readdirSync(root)).toEqual([])
  })
})

describe('an entry its maker was killed making (an intent, not yet tracked)', () => {
  /** `intend` in a registry of `root`, the entry made, then its execd killed before `track`. */
  const killedBetween = (root: string, name: string) => {
    const staging = new StagedEntries(root)
    staging.intend(dir, name)
    writeFileSync(join(dir, name), 'partial')
    const journal = (staging as unknown as { journal: OwnedTempDir }).journal
    dropLockAsKilled(journal)
    return journal.path
  }

  test('is removed at the next open, with its journal', async () => {
    const root = mkdtempSync(join(dir, 'root-'))
    const name = tempNameFor('i')
    const journal = killedBetween(root, name)
    expect(readdirSync(journal).some(n => n.startsWith('i-'))).toBe(true)
    await new StagedEntries(root).open()
    expect([existsSync(join(dir, name)), existsSync(journal)]).toEqual([false, false])
  })

  test('is kept if born far from its intent: a file made at the name later is not taken for it', async () => {
    const root = mkdtempSync(join(dir, 'root-'))
    const name = tempNameFor('j')
    const journal = killedBetween(root, name)
    const [intent] = readdirSync(journal).filter(n => n.startsWith('i-'))
    // The intent's link an hour before the file: the kernel's stamps, as the sweep reads them.
    const past = Date.now() / 1000 - 3600
    Bun.spawnSync(['touch', '-h', '-d', '@' + past, join(journal, intent!)])
    await new StagedEntries(root).open()
    expect(readFileSync(join(dir, name), 'utf8')).toBe('partial')
  })

  test("tracked with its intent's link not yet gone, a user's file at the name since is kept", async () => {
    const root = mkdtempSync(join(dir, 'root-'))
    const staging = new StagedEntries(root)
    const name = tempNameFor('k')
    const intent = staging.intend(dir, name)
    writeFileSync(join(dir, name), 'partial')
    intent.track(made(join(dir, name)))
    const journal = (staging as unknown as { journal: OwnedTempDir }).journal
    // Killed before the intent's unlink ran: its link beside the entry's, as a SIGKILL leaves it.
    await Bun.sleep(50)
    symlinkSync(join(dir, name), join(journal.path, 'i-999'))
    rmSync(join(dir, name))
    writeFileSync(join(dir, name), 'a file of the user')
    dropLockAsKilled(journal)
    await new StagedEntries(root).open()
    expect(readFileSync(join(dir, name), 'utf8')).toBe('a file of the user')
  })

  test('tracked, its intent goes; dropped, nothing stays journalled', async () => {
    const root = mkdtempSync(join(dir, 'root-'))
    const staging = new StagedEntries(root)
    const name = tempNameFor('t')
    const intent = staging.intend(dir, name)
    writeFileSync(join(dir, name), 'x')
    const entry = intent.track(made(join(dir, name)))
    staging.intend(dir, tempNameFor('u')).drop()
    const journal = (staging as unknown as { journal: OwnedTempDir }).journal.path
    await Bun.sleep(50)
    expect(readdirSync(journal).filter(n => n.startsWith('i-'))).toEqual([])
    expect(readdirSync(journal).filter(n => /^\d+-/.test(n))).toHaveLength(1)
    await entry.done()
    await staging.close()
  })
})

describe("a user's entry put aside by a commit", () => {
  /**
   * A commit killed with the user's `tree` put aside (a directory, filled by `fill` with the
   * workspace), then the next execd's start: the workspace it leaves.
   */
  const killedCommit = async (fill: (aside: string, ws: string) => void) => {
    const root = mkdtempSync(join(dir, 'root-'))
    const ws = mkdtempSync(join(dir, 'ws-'))
    const aside = join(ws, commitAsideName())
    mkdirSync(aside)
    fill(aside, ws)
    abandonedJournal(root, aside, 'tree')
    await new StagedEntries(root).open()
    return ws
  }

  test('goes back to its name after a kill if the new entry was not placed there', async () => {
    const ws = await killedCommit((aside, _) => writeFileSync(join(aside, 'kept'), 'the user tree'))
    expect(readdirSync(ws)).toEqual(['tree'])
    expect(readFileSync(join(ws, 'tree', 'kept'), 'utf8')).toBe('the user tree')
  })

  test('is removed after a kill if the new entry was placed', async () => {
    const ws = await killedCommit((_, ws) => writeFileSync(join(ws, 'tree'), 'the new file'))
    expect(readdirSync(ws)).toEqual(['tree'])
    expect(readFileSync(join(ws, 'tree'), 'utf8')).toBe('the new file')
  })

  test('goes back when execd closes with it still aside (SIGTERM)', async () => {
    const ws = mkdtempSync(join(dir, 'ws-'))
    const name = commitAsideName()
    writeFileSync(join(ws, name), 'the old file')
    const staging = new StagedEntries(mkdtempSync(join(dir, 'root-')))
    staging.open()
    staging.track(ws, name, made(join(ws, name)), 'f')
    await staging.close()
    expect(readdirSync(ws)).toEqual(['f'])
  })
})

describe('temp names', () => {
  test('stay within 255 bytes, cut at a whole character, whatever the name they are for', () => {
    for (const name of ['a'.repeat(255), 'é'.repeat(127), '語'.repeat(85), Buffer.alloc(255, 0xff), 'f']) {
      const temp = Buffer.from(tempNameFor(name), 'utf8')
      expect(temp.length).toBeLessThanOrEqual(255)
      writeFileSync(join(dir, temp.toString('utf8')), 'x')
    }
    expect(tempNameFor('f')).toMatch(/^\.f\.execd-tmp-[0-9a-f]{12}$/)
  })
})
