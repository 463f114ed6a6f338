/** `GET /directories/list`: FileInfo of every entry to `depth` levels, depth-first, sorted by name. */
import { lstat } from 'node:fs/promises'
import { badRequest, errnoOf } from '../../../core/errors'
import { nextTurn } from '../../../core/timers'
import { fsError } from '../errors'
import { fileInfoFromStats, type FileInfo } from '../fileinfo'
import { accountNames, type AccountNames } from '../../../core/owner-names'
import type { PathScope, RawPath } from '../../../core/beneath/path-scope'
import { WALK_LIMITS, startAt, tooManyEntries, walk, type WalkEntry, type WalkLimits, type WalkStart } from './walk'
import { DirectoryFds, PAUSE_EVERY } from '../../../core/beneath/walk-fds'

/** A FileInfo whose path is not valid UTF-8 also carries its exact bytes (core/beneath/names.ts). */
export type WalkedInfo = FileInfo

/** `depth` as the query gives it: absent → 1; not a non-negative integer → 400. */
export function parseDepth(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1
  if (!/^\d+$/.test(raw)) throw badRequest(`invalid query parameter 'depth': ${raw}`)
  return Number(raw)
}

/** The entry's FileInfo; undefined if it vanished since its directory was read. */
async function walkedInfo(entry: WalkEntry, names: AccountNames): Promise<WalkedInfo | undefined> {
  try {
    const info: WalkedInfo = fileInfoFromStats(entry.path, await entry.stat(), names)
    if (!entry.valid) info.path_base64 = entry.bytes.toString('base64')
    return info
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ESTALE') return undefined
    throw err
  }
}

/**
 * A walked listing whose FileInfos are made later, a batch at a time: the walk keeps names
 * only, and each entry is stat'ed (through its directory's descriptor, reopened if need be) as
 * the answer is sent. `close()` when done.
 */
export interface Listing {
  entries: readonly WalkEntry[]
  /** The batch's FileInfos, the entries gone since the walk left out. */
  info(batch: readonly WalkEntry[]): Promise<WalkedInfo[]>
  close(): Promise<void>
}

/**
 * Where a listing of `raw` starts: the directory resolved beneath the root and opened from its
 * held parent (a symlink there is refused, not followed); the walk then goes by descriptor
 * from it. Messages name the path as the client wrote it.
 */
async function listingStart(scope: PathScope, raw: RawPath): Promise<WalkStart> {
  return scope.with(raw, {}, async anchor => {
    const start = await startAt(anchor)
    if (start) return start
    const s = await lstat(anchor.at)
    if (s.isSymbolicLink()) throw badRequest(`path is a symbolic link, refusing to traverse: ${raw}`)
    if (!s.isDirectory()) throw badRequest(`path is not a directory: ${raw}`)
    throw badRequest(`path changed while it was being resolved: ${raw}`)
  })
}

/** One walk an answer is made of: where it starts, what it yields, how its errors read. */
export interface WalkPlan {
  kind: 'listing' | 'search'
  raw: RawPath
  context: string
  /** The step an error is named for until the start is resolved. */
  first: 'lstat' | 'stat'
  start(): Promise<WalkStart>
  entries(start: WalkStart, limits: WalkLimits, fds: DirectoryFds): AsyncIterable<WalkEntry>
}

/** The walk's entries, gathered up to the cap: every error (the caps included) before the first is answered. */
export async function gatheredWalk(plan: WalkPlan, limits: WalkLimits): Promise<Listing> {
  let step: string = plan.first
  const fds = new DirectoryFds()
  try {
    const start = await plan.start()
    step = 'open'
    const out: WalkEntry[] = []
    for await (const entry of plan.entries(start, limits, fds)) {
      if (out.length >= limits.maxEntries) throw tooManyEntries(plan.kind, limits.maxEntries)
      out.push(entry)
    }
    return listingOf(out, fds, plan.context)
  } catch (err) {
    await fds.closeAll()
    throw fsError(err, step, plan.raw, plan.context)
  }
}

/**
 * The walk's FileInfos a batch at a time as it goes, for the CLI that prints them as they come:
 * no cap on entries or time (a person asked for them all and can stop it: `signal`).
 */
export async function* batchedWalk(plan: WalkPlan, signal?: AbortSignal): AsyncGenerator<WalkedInfo[]> {
  let step: string = plan.first
  const fds = new DirectoryFds()
  try {
    const start = await plan.start()
    step = 'open'
    yield* infoBatches(plan.entries(start, { ...UNCAPPED, signal }, fds), plan.context)
  } catch (err) {
    throw fsError(err, step, plan.raw, plan.context)
  } finally {
    await fds.closeAll()
  }
}

/** A directory's entries down to `depth` (none at 0: the directory itself is only checked). */
const listingPlan = (scope: PathScope, raw: RawPath, depth: number): WalkPlan => ({
  kind: 'listing',
  raw,
  context: `error listing directory ${raw}. `,
  first: 'lstat',
  start: () => listingStart(scope, raw),
  async *entries(start, limits, fds) {
    if (depth === 0) return void (await start.handle.close())
    yield* walk(start, depth, () => {}, limits, 'listing', fds)
  },
})

/** Every error of the walk comes before the first entry is answered (the caps included). */
export const openListing = (scope: PathScope, raw: RawPath, depth = 1, limits: WalkLimits = WALK_LIMITS) =>
  gatheredWalk(listingPlan(scope, raw, depth), limits)

/**
 * The CLI's listing (`execd fs ls`): FileInfos a batch at a time as the walk goes, printed as
 * they come — the first before the walk is over, and what is held is one batch and the names
 * of the directories on the walk's path, not the whole answer (a closed pipe stops the walk).
 */
export const listingBatches = (scope: PathScope, raw: RawPath, depth = 1, signal?: AbortSignal) =>
  batchedWalk(listingPlan(scope, raw, depth), signal)

/** A walk without its caps, for the CLI that streams it. */
export const UNCAPPED: WalkLimits = { timeBudgetMs: Number.POSITIVE_INFINITY, maxEntries: Number.POSITIVE_INFINITY }

/** FileInfos per batch the CLI prints (as the daemon's answers are sent: core/json-array.ts). */
const BATCH = 256

/** The FileInfos of walked entries, each made as it is walked, a batch at a time. */
export async function* infoBatches(entries: AsyncIterable<WalkEntry>, context: string): AsyncGenerator<WalkedInfo[]> {
  let batch: WalkedInfo[] = []
  let names = accountNames()
  for await (const entry of entries) {
    const info = await walkedInfo(entry, names).catch(err => {
      throw fsError(err, 'lstat', entry.path, context)
    })
    if (info) batch.push(info)
    if (batch.length < BATCH) continue
    yield batch
    batch = []
    names = accountNames()
  }
  if (batch.length) yield batch
}

/**
 * The Listing of entries walked with `fds` kept (the walk's `kept`); a failure to stat one is
 * reported under `context`. Closing it closes `fds`.
 */
export function listingOf(entries: readonly WalkEntry[], fds: DirectoryFds, context: string): Listing {
  const info = async (batch: readonly WalkEntry[]) => {
    const infos: WalkedInfo[] = []
    const names = accountNames()
    for (const [i, entry] of batch.entries()) {
      // The stats are made at once (ops/walk.ts): without a turn here an answer pulled as fast as
      // it is made was one chain of promises, and /ping waited 2.8 s behind 11,000 matches.
      if (i % PAUSE_EVERY === 0) await nextTurn()
      const one = await walkedInfo(entry, names).catch(err => {
        throw fsError(err, 'lstat', entry.path, context)
      })
      if (one) infos.push(one)
    }
    return infos
  }
  return { entries, info, close: () => fds.closeAll() }
}

/** A listing's FileInfos all made at once (the CLI and the tests), closed after. */
export async function allInfo(listing: Listing): Promise<WalkedInfo[]> {
  try {
    return await listing.info(listing.entries)
  } finally {
    await listing.close()
  }
}

/** `openListing`, its FileInfos all made at once (the CLI and the tests). */
export async function listDirectory(
  scope: PathScope,
  raw: RawPath,
  depth = 1,
  limits: WalkLimits = WALK_LIMITS,
): Promise<WalkedInfo[]> {
  return allInfo(await openListing(scope, raw, depth, limits))
}
