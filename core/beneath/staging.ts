/**
 * Every temp entry staged beside a user's file (an upload's or a replace's temp file, the copy of
 * a move across filesystems, what an isolated session's commit stages) is tracked from the moment
 * it exists until its owner renames it into place or removes it. What is still staged when the
 * app closes (execd stopping on SIGTERM) is removed then: before, execd exited with its
 * `.execd-*` entries left next to the user's files.
 *
 * A removal takes the entry only if it is still the one made (same device, inode and birth time) and still
 * carries a staging name, so a user's file that took its place is never removed for it.
 *
 * What a SIGKILL leaves is removed at the next start: each tracked entry is journalled as a
 * symlink to where it is, named by its device, inode and birth time, in `$TMPDIR/execd-staged-<pid>-*` (an
 * OwnedTempDir, core/temp-dir.ts), and the next execd to open it sweeps the journals whose owner
 * is gone, entry by entry under the same check.
 *
 * One registry per process and TMPDIR, not per section: the entries belong to the process that
 * would leave them, and they are made by plain operations that hold only a directory and a name.
 * Its owner is the app (core/app.ts): the first section that stages asks `ctx.staging()`, which
 * opens it once for the app, and the app closes it after its sections; no section opens it.
 */
import { constants, lstatSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs'
import { lstat, open, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { shuttingDown } from '../errors'
import { fdPath } from '../file-snapshot'
import { nameStartWithin } from '../name-max'
import { randomHex } from '../random'
import { renameUnlessTaken } from '../renameat2'
import { OWNER_SOCKET, sweepStale } from '../stale-dirs'
import { OwnedTempDir } from '../temp-dir'
import { O_PATH, asName, procPath, type Name } from './walk'
import { decodeName } from './names'
import { removeEntry } from './tree'

/**
 * What identifies an entry made: a removal checks it is still that one. The birth time too: a
 * freed inode is handed to the next file made on ext4 at once, so a user's file that took a
 * removed temp file's name often has its inode number.
 */
export interface Made {
  dev: bigint
  ino: bigint
  birthtimeNs: bigint
}

/** The marker in every temp name of the files section, so strays are easy to recognise. */
const TEMP_MARKER = '.execd-tmp-'

/**
 * The temp name an entry named `name` is staged under, beside it. The name is cut (at a
 * character's end) so that the whole stays within NAME_MAX bytes: a target's name of 232 to
 * 255 bytes, valid itself, made its temp name too long and its upload, replace or move failed.
 */
export const tempNameFor = (name: Name): string => {
  const suffix = `${TEMP_MARKER}${randomHex(6)}`
  const text = Buffer.from(typeof name === 'string' ? name : decodeName(name).lossy, 'utf8')
  return `.${nameStartWithin(text, 1 + suffix.length).toString('utf8')}${suffix}`
}

/** The marker-only name an isolated commit stages an entry under, beside its target (isolated/ops/commit.ts). */
export const commitTempName = (): string => `.execd-commit-${randomHex(4)}`

/** The name an isolated commit puts a user's entry aside under while it replaces it (isolated/ops/commit.ts). */
export const commitAsideName = (): string => `.execd-commit-old-${randomHex(4)}`

/** The names staged entries have: tempNameFor's, commitTempName's and commitAsideName's. */
const STAGED_NAME = /(?:\.execd-tmp-[0-9a-f]{12}|^\.execd-commit-(?:old-)?[0-9a-f]{8})$/

const isStagedName = (name: Name): boolean =>
  STAGED_NAME.test(typeof name === 'string' ? name : name.toString('latin1'))

interface Entry {
  /** The directory holding it: a path, or `/proc/self/fd/<fd>` of a directory its owner holds open. */
  dir: string
  name: Name
  made: Made
  /** A user's entry put aside: the name in `dir` it goes back to, if that name is free, rather than removed. */
  putBack?: Name
  /** Its symlink in the journal, if it could be written (best effort: a full TMPDIR stops no upload). */
  link?: string
}

const JOURNAL_PREFIX = 'execd-staged'
/** A journal link naming an entry about to be made (Intent): `i-<n>`. */
const INTENT_PREFIX = 'i-'
/**
 * How far from its intent's link an entry's birth may be and still be the one intended: it is
 * made in the same few steps, so a user's file made at the name later (after the sweep's
 * owner died) is not taken for it. Both stamps are the kernel's clock, not execd's.
 */
const INTENT_SLACK_NS = 30_000_000_000n
/** The suffix of a journal link naming where an entry put aside goes back to. */
const PUT_BACK = '.back'
/**
 * How long the journal dir stays once nothing is staged: making it and sweeping for stale ones
 * costs ~2 ms, too much for every small upload, and an idle execd leaves no dir in TMPDIR.
 */
const JOURNAL_LINGER_MS = 1000
/**
 * How long a close waits for the owners of what is still staged (a move's copy, told to stop) to
 * remove it themselves before it removes what is left: removed under a copy still writing, a
 * tree kept its newest entries and its dir (spec/files-staging, ~1 stop in 10 at load 15).
 */
const OWNERS_MS = 3000

/**
 * A tracked entry. `done()`: its owner renamed it into place or removed it (idempotent). It is
 * forgotten at once; its journal link goes through the thread pool, and the promise (which never
 * rejects) says when: a link outliving its entry is harmless (the sweep removes only an entry
 * still bearing its staged name), and on the event loop each removal waited its turn in the
 * filesystem's journal (ext4 under other tenants' fsyncs: 0.07 ms median, 7 ms p99).
 */
export interface StagedEntry {
  done(): Promise<void>
}

/**
 * An entry about to be made, journalled before it exists: `track` once it is made (in the turn
 * that made it), `drop` if it was not. Made first and journalled after, a SIGKILL between the two
 * left it beside the user's files for good (the journal's first link makes its dir, socket and
 * all: at load 16, 3 commits in 20 stood without a link when their staged file showed).
 */
export interface Intent {
  track(made: Made, putBack?: Name): StagedEntry
  drop(): void
}

export class StagedEntries {
  private readonly entries = new Set<Entry>()
  private users = 0
  private closing = false
  private readonly journal: OwnedTempDir
  private lingering: ReturnType<typeof setTimeout> | undefined
  private swept: Promise<unknown> | undefined
  private links = 0
  /** Intents neither tracked nor dropped: the journal does not linger-close under them. */
  private intents = 0
  private stop = new AbortController()
  private drained: (() => void) | undefined

  constructor(private readonly root = tmpdir()) {
    this.journal = new OwnedTempDir(JOURNAL_PREFIX, root, { onStale: removeJournalled })
  }

  /**
   * Tracks the entry `name` that was just made in `dir`: a directory's path, or a descriptor its
   * owner holds open (an anchor's) for as long as the entry is tracked. Throws once execd is
   * stopping: the caller removes what it made, as for any failure. `putBack`: the entry is a
   * user's put aside from that name (see Entry).
   */
  track(dir: string | number, name: Name, made: Made, putBack?: Name): StagedEntry {
    if (this.closing) throw shuttingDown()
    const at = typeof dir === 'number' ? procPath(dir) : dir
    const entry: Entry = { dir: at, name, made, putBack, link: this.journalled(dir, name, made, putBack) }
    this.entries.add(entry)
    return { done: () => this.forget(entry) }
  }

  /**
   * Journals `name` of `dir` before the caller makes it there (see Intent). Throws once execd is
   * stopping, as `track` does. The next start removes what an intent names only if it bears a
   * staged name and was born within INTENT_SLACK_NS of the intent's link.
   */
  intend(dir: string | number, name: Name): Intent {
    if (this.closing) throw shuttingDown()
    this.intents++
    clearTimeout(this.lingering)
    const link = this.intentLink(dir, name)
    let open = true
    const settle = () => {
      if (!open) return false
      open = false
      this.intents--
      if (link) void unlink(link).catch(() => {})
      return true
    }
    return {
      track: (made, putBack) => {
        // Written before the intent's link goes: one of the two names the entry at every moment.
        const entry = this.track(dir, name, made, putBack)
        settle()
        return entry
      },
      drop: () => void (settle() && this.lingerIfIdle()),
    }
  }

  /** Aborted once execd is stopping: work that stages for long (a move's copy) stops at its next step. */
  get stopping(): AbortSignal {
    return this.stop.signal
  }

  /**
   * An app whose sections stage opens the registry (core/app.ts; stagings are refused once every
   * app that opened it has closed it). The first open removes what execds killed before left staged.
   */
  open(): Promise<unknown> {
    this.users++
    this.closing = false
    if (this.stop.signal.aborted) this.stop = new AbortController()
    this.swept ??= sweepStale(JOURNAL_PREFIX, this.root, this.journal.path, removeJournalled)
    return this.swept
  }

  /**
   * Closes one app's use; the last one stops what still stages, lets its owners remove what they
   * made (OWNERS_MS at most), and removes what is left.
   */
  async close(): Promise<void> {
    if (--this.users > 0) return
    this.users = 0
    this.closing = true
    this.stop.abort(shuttingDown())
    if (this.entries.size > 0) {
      await new Promise<void>(resolve => {
        this.drained = resolve
        setTimeout(resolve, OWNERS_MS).unref?.()
      })
      this.drained = undefined
    }
    const left = [...this.entries]
    this.entries.clear()
    await Promise.allSettled(left.map(e => removeIfMade(e.dir, e.name, e.made, e.putBack)))
    clearTimeout(this.lingering)
    this.journal.close()
  }

  /**
   * Writes the journal's link to the entry: `<dev>-<ino>-<birth>-<n>` → its path as it lasts (no
   * descriptor in it); and `<that>.back` → the name it goes back to, if any (written first).
   */
  private journalled(dir: string | number, name: Name, made: Made, putBack?: Name): string | undefined {
    clearTimeout(this.lingering)
    try {
      // The count keeps each link's name its own: an entry placed and forgotten has its removal
      // still in flight when another request puts the same file aside under the same identity.
      const link = join(this.journal.ensure(), `${made.dev}-${made.ino}-${made.birthtimeNs}-${++this.links}`)
      // A held directory's path by its descriptor's link: realpath of it cost three times as much.
      const path = typeof dir === 'number' ? readlinkSync(fdPath(dir), { encoding: 'buffer' }) : dir
      if (putBack !== undefined) symlinkSync(Buffer.from(putBack), `${link}${PUT_BACK}`)
      symlinkSync(Buffer.concat([Buffer.from(path), Buffer.from('/'), Buffer.from(name)]), link)
      return link
    } catch {
      return undefined
    }
  }

  /** `i-<n>` → where the entry will be (best effort, as `journalled`). */
  private intentLink(dir: string | number, name: Name): string | undefined {
    try {
      const link = join(this.journal.ensure(), `${INTENT_PREFIX}${++this.links}`)
      const path = typeof dir === 'number' ? readlinkSync(fdPath(dir), { encoding: 'buffer' }) : dir
      symlinkSync(Buffer.concat([Buffer.from(path), Buffer.from('/'), Buffer.from(name)]), link)
      return link
    } catch {
      return undefined
    }
  }

  private lingerIfIdle(): void {
    if (this.entries.size > 0 || this.intents > 0) return
    clearTimeout(this.lingering)
    const idle = () => this.entries.size === 0 && this.intents === 0
    this.lingering = setTimeout(() => idle() && this.journal.close(), JOURNAL_LINGER_MS)
    this.lingering.unref()
  }

  private forget(entry: Entry): Promise<void> {
    if (!this.entries.delete(entry)) return Promise.resolve()
    if (this.entries.size === 0) this.drained?.()
    this.lingerIfIdle()
    if (!entry.link) return Promise.resolve()
    const links = entry.putBack === undefined ? [entry.link] : [entry.link, `${entry.link}${PUT_BACK}`]
    return Promise.all(links.map(link => unlink(link).catch(() => {}))).then(() => {})
  }
}

export const stagedEntries = new StagedEntries()

const { O_DIRECTORY } = constants

/**
 * Removes the entries a stale journal names (the sweep removes the journal itself). Only a
 * journal of this user's: another user of TMPDIR could otherwise have execd remove files for it.
 */
async function removeJournalled(journal: string): Promise<void> {
  if (lstatSync(journal).uid !== process.getuid?.()) return
  const links = readdirSync(journal)
  // What the entries' own links name: an intent naming the same place is one whose entry was
  // tracked before the kill (its link goes after the track's), and the entry's link, which knows
  // its inode, decides. Taken by the intent's birth window, a user's file put at that name since
  // (another inode) was removed (CI4: spec/files-staging's swapped upload).
  const tracked = new Set<string>()
  for (const link of links)
    if (!link.startsWith(INTENT_PREFIX) && link !== OWNER_SOCKET && !link.endsWith(PUT_BACK))
      try {
        tracked.add(readlinkSync(join(journal, link), { encoding: 'buffer' }).toString('latin1'))
      } catch {}
  for (const link of links) {
    if (link === OWNER_SOCKET) continue
    if (link.startsWith(INTENT_PREFIX)) {
      await removeIntended(join(journal, link), tracked)
      continue
    }
    const id = /^(\d+)-(\d+)-(\d+)(?:-\d+)?$/.exec(link)
    if (!id?.[1] || !id[2] || !id[3]) continue
    const target = readlinkSync(join(journal, link), { encoding: 'buffer' })
    const slash = target.lastIndexOf(0x2f)
    if (slash < 0) continue
    const name = target.subarray(slash + 1)
    let putBack: Name | undefined
    try {
      putBack = asName(readlinkSync(join(journal, `${link}${PUT_BACK}`), { encoding: 'buffer' }))
    } catch {}
    const made = { dev: BigInt(id[1]), ino: BigInt(id[2]), birthtimeNs: BigInt(id[3]) }
    await removeIfMade(slash === 0 ? '/' : target.subarray(0, slash), asName(name), made, putBack)
  }
}

/**
 * Removes what an intent's link names if it bears a staged name and was born near the link
 * (INTENT_SLACK_NS): its maker died between making it and journalling it. A filesystem that
 * gives no birth time keeps it (nothing proves it is the one made), and so does an intent whose
 * entry has a link of its own (tracked before the kill): that link, which knows its inode, decides.
 */
async function removeIntended(link: string, tracked: ReadonlySet<string>): Promise<void> {
  const linked = lstatSync(link, { bigint: true })
  const target = readlinkSync(link, { encoding: 'buffer' })
  if (tracked.has(target.toString('latin1'))) return
  const slash = target.lastIndexOf(0x2f)
  if (slash < 0) return
  const dir = slash === 0 ? '/' : target.subarray(0, slash)
  const name = asName(target.subarray(slash + 1))
  if (!isStagedName(name)) return
  const held = await open(dir, O_PATH | O_DIRECTORY).catch(() => undefined)
  if (!held) return
  try {
    const now = await lstat(procPath(held.fd, name), { bigint: true }).catch(() => undefined)
    const born = now?.birthtimeNs ?? 0n
    const apart = born - linked.mtimeNs
    if (born === 0n || apart < -INTENT_SLACK_NS || apart > INTENT_SLACK_NS) return
    await removeEntry(held.fd, name)
  } finally {
    await held.close()
  }
}

/**
 * Removes `name` of `dir` (a whole tree if it is one) if it is still the entry made and bears a
 * staged name. A user's entry put aside goes back to `putBack` instead, if nothing took that
 * name: the commit that put it aside was stopped before it placed the new one.
 */
async function removeIfMade(dir: string | Buffer, name: Name, made: Made, putBack?: Name): Promise<void> {
  if (!isStagedName(name)) return
  const held = await open(dir, O_PATH | O_DIRECTORY).catch(() => undefined)
  if (!held) return
  try {
    const now = await lstat(procPath(held.fd, name), { bigint: true }).catch(() => undefined)
    if (now?.dev !== made.dev || now.ino !== made.ino || now.birthtimeNs !== made.birthtimeNs) return
    if (putBack !== undefined) {
      // Kept where it is if it cannot go back for another reason than its name being taken.
      const back = (() => {
        try {
          return renameUnlessTaken(procPath(held.fd, name), procPath(held.fd, putBack))
        } catch {
          return true
        }
      })()
      if (back) return
    }
    await removeEntry(held.fd, name)
  } finally {
    await held.close()
  }
}
