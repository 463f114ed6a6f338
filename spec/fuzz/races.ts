/**
 * Racing sequences: one resource hit by several requests at once — two deletes of one context,
 * command or session, an interrupt racing a command's or a cell's own end, a delete racing a
 * running cell's stream, uploads, moves, deletes, replaces and chmods of one path, a download
 * while the file is replaced or truncated under it, a Range download while it is truncated, grown
 * or rewritten, clients that never read a large download, downloads while TMPDIR goes away or fills, a command's output
 * in bursts beside a flood, an isolated session deleted while it runs, a
 * terminal deleted while its WebSocket opens, an overlay session's commit racing its diff, files
 * and a delete, many clients resuming one command's events, hostile WebSocket clients and
 * upstreams through the proxy, every files route over pseudo-files, fifos, sockets and devices. Each answer is judged (stream.ts: answered within
 * its bound, no 5xx, JSON errors, a stream ends in a terminal event); then nothing the race
 * started may still run (leftovers.ts), no temp entry may be left, no child stays a zombie, and
 * a file raced over holds one whole version, never a mix or a half.
 */
import fc from 'fast-check'
import type { Violation } from './check'
import { zombies } from './leftovers'
import { DOWNLOAD_RACES, EDITS, type Edit, RANGES, type RangeKind } from './races-downloads'
import { FILE_RACES } from './races-files'
import { BOUNDS_RACES, boundsDaemonStarted, stopBoundsDaemon } from './races-bounds'
import { FLOOD_RACES } from './races-floods'
import { ISOLATED_PTY_RACES } from './races-isolated-pty'
import { PROCESS_RACES } from './races-processes'
import { PROXY_WS_RACES, proxyWsDaemonStarted, stopProxyWsDaemon } from './races-proxy-ws'
import { PSEUDO_RACES, pseudoDaemonStarted, stopPseudoDaemon } from './races-pseudo'
import { REACH_RACES } from './races-reach'
import type { Daemon } from '../harness'
import type { World } from './world'

export const RACES = [
  'context-delete-twice',
  'command-delete-twice',
  'session-delete-twice',
  'command-interrupt-vs-end',
  'cell-interrupt-vs-end',
  'context-delete-vs-cell',
  'session-delete-vs-run',
  'files-one-path',
  'download-vs-change',
  'isolated-delete-vs-run',
  'pty-delete-vs-ws',
  'default-context-at-once',
  'cells-at-once',
  'session-runs-at-once',
  'upload-vs-rmdir',
  'command-watch-vs-delete',
  'contexts-delete-all-vs-create',
  'upload-midway-vs-move',
  'download-range-vs-change',
  'downloads-unread',
  'download-tmpdir-gone',
  'download-tmpdir-small',
  'command-flood-bursts',
  'queue-at-bound-clients-leave',
  'command-logs-total-churn',
  'download-past-copy-max-vs-change',
  'walks-aborted-midway',
  'js-fd3-vs-requests',
  'isolated-overlay-commit',
  'events-many-resumers',
  'proxy-ws-hostile',
  'pseudo-files',
] as const
export type RaceName = (typeof RACES)[number]

const FILE_OPS = ['upload', 'upload-big', 'mv-away', 'mv-back', 'delete', 'replace', 'chmod', 'download'] as const
export type FileOp = (typeof FILE_OPS)[number]
const CHANGES = ['truncate', 'truncate-half', 'rewrite', 'rename-over', 'unlink', 'upload', 'delete', 'mv'] as const
export type Change = (typeof CHANGES)[number]

export interface RaceCase {
  kind: 'race'
  race: RaceName
  /** ms between the first request and the one racing it. */
  delayMs: number
  /** How many racing requests (deletes, file operations). */
  n: number
  ops: FileOp[]
  change: Change
  /** The size of the file raced over, in KiB. */
  kib: number
  /** What a Range download races with, and its range (races-downloads.ts). */
  edit: Edit
  rangeKind: RangeKind
}

export const raceCase: fc.Arbitrary<RaceCase> = fc.record({
  kind: fc.constant('race' as const),
  race: fc.constantFrom(...RACES),
  delayMs: fc.oneof(fc.constantFrom(0, 0, 1, 5), fc.integer({ min: 0, max: 250 })),
  n: fc.integer({ min: 2, max: 4 }),
  ops: fc.array(fc.constantFrom(...FILE_OPS), { minLength: 2, maxLength: 6 }),
  change: fc.constantFrom(...CHANGES),
  kib: fc.constantFrom(1, 64, 1024, 6144),
  edit: fc.constantFrom(...EDITS),
  rangeKind: fc.constantFrom(...RANGES),
})

export function raceLabel(c: RaceCase): string {
  const more =
    c.race === 'files-one-path'
      ? ` ops ${c.ops.join(',')}`
      : c.race === 'download-vs-change'
        ? ` ${c.change} of ${c.kib} KiB`
        : c.race === 'download-range-vs-change'
          ? ` ${c.rangeKind} range, ${c.edit} of ${c.kib} KiB`
          : ` n=${c.n}`
  return `race ${c.race} @${c.delayMs}ms${more}`
}

export async function runRace(c: RaceCase, w: World): Promise<Violation[]> {
  const out = await RUN[c.race](c, w)
  out.push(...(await zombies(w)))
  return out
}

const RUN = {
  ...PROCESS_RACES,
  ...ISOLATED_PTY_RACES,
  ...FILE_RACES,
  ...DOWNLOAD_RACES,
  ...FLOOD_RACES,
  ...BOUNDS_RACES,
  ...REACH_RACES,
  ...PROXY_WS_RACES,
  ...PSEUDO_RACES,
} as Record<RaceName, (c: RaceCase, w: World) => Promise<Violation[]>>
for (const name of RACES) if (!RUN[name]) throw new Error(`race ${name} has no sequence`)

export { raceLeftovers } from './races-files'

/** The daemons some races started for themselves, by what they are for. */
export async function raceDaemons(): Promise<[string, Daemon][]> {
  const all: [string, Daemon | undefined][] = [
    ['small bounds', await boundsDaemonStarted()],
    ['proxy relays', await proxyWsDaemonStarted()],
    ['pseudo-files', await pseudoDaemonStarted()],
  ]
  return all.filter((x): x is [string, Daemon] => x[1] !== undefined && x[1].proc.exitCode === null)
}

/** Stops the daemons some races start for themselves (small bounds, relays, unconfined): every runner's last step. */
export async function stopRaceDaemons(): Promise<void> {
  await stopBoundsDaemon()
  await stopProxyWsDaemon()
  await stopPseudoDaemon()
}
