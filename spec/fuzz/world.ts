/**
 * The fuzz's world: a temp tree with the root, a sentinel directory beside it, the daemon's
 * own cwd and HOME (all inside the tree, see paths.ts), the daemon itself, a /ping latency
 * worker, and the ids of what the fuzz created so it can use and then remove them.
 */
import { createHash } from 'node:crypto'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { jupyterMissing, startJupyter, type TestJupyter } from '../../plugins/jupyter/test-server'
import { type Daemon, startDaemon } from '../harness'
import type { Layout } from './paths'

export type Kind = 'session' | 'pty' | 'context' | 'command' | 'execution' | 'isolated'

/** Ids the daemon handed out, oldest first. */
export class Created {
  private readonly ids = new Map<Kind, string[]>()
  add(kind: Kind, id: string): void {
    const list = this.ids.get(kind) ?? []
    if (!list.includes(id)) list.push(id)
    this.ids.set(kind, list)
  }
  pick(kind: Kind, n: number): string | undefined {
    const list = this.ids.get(kind) ?? []
    return list.length ? list[n % list.length] : undefined
  }
  all(kind: Kind): string[] {
    return [...(this.ids.get(kind) ?? [])]
  }
  forget(kind: Kind, id: string): void {
    this.ids.set(
      kind,
      this.all(kind).filter(x => x !== id),
    )
  }
}

export interface PingReport {
  max: number
  /** When the slowest /ping was sent (epoch ms): what was in flight then is the suspect. */
  maxAt: number
  count: number
  failures: string[]
}

export interface World {
  layout: Layout
  /** Replaced by `restart` after a crash. */
  daemon: Daemon
  tmp: string
  marker: string
  created: Created
  /**
   * Bumped when a `DELETE /code/contexts` (all of a language, or all) is sent and when it is
   * answered: a race whose context vanished while this moved was cleared by another case.
   */
  clears: number
  /**
   * The clears sent and not yet answered: one that was sent before a race read `clears` and is
   * still in flight when the race judges moved nothing, yet its daemon may have listed the
   * race's context after it was made (stream.ts, clearedSince).
   */
  clearing: number
  before: Map<string, string>
  /** How each earlier daemon ended, when one crashed and `restart` replaced it. */
  crashes: string[]
  /** Records how the daemon died and starts a new one on the same tree, so one crash hides nothing else. */
  restart(): Promise<void>
  /** Whether the daemon still answers /ping; a daemon that does not is given a moment to exit. */
  settled(): Promise<boolean>
  stopPinger(): Promise<PingReport>
  /** DELETEs what the fuzz created, stops the daemon, removes the temp trees. */
  close(): Promise<number>
}

/** type, mode, owner, size and content hash of everything in the tree except the root's inside. */
export function snapshot(layout: Layout): Map<string, string> {
  const out = new Map<string, string>()
  // $HOME is watched too: the interpreters execd runs as Bun wrote their transpiler cache in
  // $HOME/.bun until they were told not to (core/process.ts, asBunEnv).
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      const st = lstatSync(p)
      const hash = st.isFile() ? createHash('sha1').update(readFileSync(p)).digest('hex').slice(0, 12) : ''
      out.set(p, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? 'dir' : st.size} ${hash}`)
      if (st.isDirectory() && p !== layout.root) walk(p)
    }
  }
  walk(layout.base)
  return out
}

/** What the sentinel's file holds: an answer that carries it read outside the root. */
export const SENTINEL_TEXT = 'outside the root: must stay as it is'

/**
 * Links inside the root that lead out of it, to the sentinel (a directory and a file): a route
 * that follows one reads or changes what is beside the root. Put back after every case (a case
 * may delete or move them); paths.ts names them. None leads above the tree's base (paths.ts).
 */
const LINKS: [name: string, to: string][] = [
  ['out', '../../sentinel'],
  ['outf', '../../sentinel/a.txt'],
]
export function restoreRoot(layout: Layout): void {
  for (const d of [layout.root, layout.cwd, layout.home]) if (!existsSync(d)) mkdirSync(d, { recursive: true })
  for (const [name, to] of LINKS) {
    const p = join(layout.root, name)
    try {
      lstatSync(p)
    } catch {
      try {
        symlinkSync(to, p)
      } catch {}
    }
  }
}

/** What changed beside the root between two snapshots. */
export function escapes(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = []
  // A new tree is reported by its top directory only.
  for (const p of after.keys())
    if (!before.has(p) && !(after.has(dirname(p)) && !before.has(dirname(p)))) out.push(`created ${p}`)
  for (const [p, v] of before) {
    if (!after.has(p)) out.push(`removed ${p}`)
    else if (after.get(p) !== v) out.push(`changed ${p}: ${v} → ${after.get(p)}`)
  }
  return out
}

export interface WorldOptions {
  /**
   * Also a Jupyter server whose kernels the daemon bridges (`snake`, ipykernel underneath), when
   * this machine has one: the runtime cases reach the bridge through it (runtimes.ts).
   */
  jupyter?: boolean
}

export async function openWorld(opts: WorldOptions = {}): Promise<World> {
  const jupyter: TestJupyter | null =
    opts.jupyter && !(await jupyterMissing()) ? await startJupyter({ snake: 'snake' }) : null
  const bridge = jupyter ? ['--jupyter-host', jupyter.url, '--jupyter-token', jupyter.token] : []
  const base = mkdtempSync(join(tmpdir(), 'execd-fuzz-'))
  const tmp = mkdtempSync(join(tmpdir(), 'execd-fuzz-tmp-'))
  const layout: Layout = {
    base,
    sentinel: join(base, 'sentinel'),
    root: join(base, 'w', 'root'),
    cwd: join(base, 'w', 'cwd'),
    home: join(base, 'w', 'home'),
  }
  for (const d of [
    layout.sentinel,
    join(layout.sentinel, 'sub'),
    layout.root,
    layout.cwd,
    layout.home,
    join(layout.root, 'sub'),
  ])
    mkdirSync(d, { recursive: true })
  writeFileSync(join(layout.sentinel, 'a.txt'), `${SENTINEL_TEXT}\n`)
  writeFileSync(join(layout.sentinel, 'sub', 'b.txt'), 'b\n')
  writeFileSync(join(layout.cwd, 'a.txt'), 'the daemon cwd\n')
  writeFileSync(join(layout.home, 'a.txt'), 'home\n')
  writeFileSync(join(layout.root, 'a.txt'), 'inside the root\n')
  restoreRoot(layout)
  const marker = `fzmark${crypto.randomUUID().slice(0, 8)}`
  const before = snapshot(layout)
  // Every daemon ever started, so close() stops one a crash-restart raced with, too.
  const started: Daemon[] = []
  const start = () =>
    startDaemon({
      args: ['--root', layout.root, '--python-spare', '0', '--log-level', 'warn', ...bridge],
      cwd: layout.cwd,
      // Every variable a hostile path may expand points inside the tree (paths.ts).
      env: { HOME: layout.home, PWD: layout.cwd, TMPDIR: tmp, FUZZ_OUT: layout.sentinel, FUZZ_MARK: marker },
    }).then(d => (started.push(d), d))
  const pinger = new Worker(new URL('./pinger.ts', import.meta.url))
  const follow = (d: Daemon) => pinger.postMessage({ url: d.url, token: d.token })
  let report: Promise<PingReport> | undefined
  const stopPinger = () =>
    (report ??= new Promise<PingReport>(resolve => {
      pinger.onmessage = e => (pinger.terminate(), resolve(e.data))
      pinger.postMessage('stop')
    }))
  const world: World = {
    layout,
    daemon: await start(),
    tmp,
    marker,
    created: new Created(),
    clears: 0,
    clearing: 0,
    before,
    crashes: [],
    async restart() {
      const old = world.daemon
      await Promise.race([old.proc.exited, Bun.sleep(1000)])
      if (old.proc.exitCode === null) {
        old.proc.kill('SIGKILL')
        await old.proc.exited
        world.crashes.push('no answer to /ping for 4 s: killed and restarted')
        world.daemon = await start()
        world.created = new Created()
        return follow(world.daemon)
      }
      const code = old.proc.exitCode
      // Bun's uncaught-error report: the message line, then the stack, after the JSON log lines.
      const tail = old
        .logs()
        .trim()
        .split('\n')
        .filter(l => l.trim() && !l.startsWith('{'))
        .slice(-14)
      const first = tail.findIndex(l => /error/i.test(l))
      world.crashes.push(`exit ${code}: ${tail.slice(Math.max(0, first)).join(' | ').replace(/\s+/g, ' ')}`)
      restoreRoot(layout)
      world.daemon = await start()
      world.created = new Created()
      follow(world.daemon)
    },
    async settled() {
      const d = world.daemon
      try {
        const res = await d.fetch('/ping', { signal: AbortSignal.timeout(3000) })
        await res.arrayBuffer()
        if (res.status === 200) return true
      } catch {}
      await Promise.race([d.proc.exited, Bun.sleep(1000)])
      return d.proc.exitCode === null
    },
    stopPinger,
    async close() {
      const { daemon, created } = world
      await stopPinger()
      if (daemon.proc.exitCode === null) await removeCreated(daemon, created)
      const code = daemon.proc.exitCode ?? (await daemon.stop())
      for (const d of started) if (d.proc.exitCode === null) await d.stop()
      await jupyter?.stop()
      rmSync(base, { recursive: true, force: true })
      rmSync(tmp, { recursive: true, force: true })
      return code
    },
  }
  follow(world.daemon)
  return world
}

const DELETE_PATH: Record<Kind, ((id: string) => string) | undefined> = {
  session: id => `/session/${encodeURIComponent(id)}`,
  pty: id => `/pty/${encodeURIComponent(id)}`,
  context: id => `/code/contexts/${encodeURIComponent(id)}`,
  command: id => `/command?id=${encodeURIComponent(id)}`,
  execution: undefined,
  isolated: id => `/v1/isolated/session/${encodeURIComponent(id)}`,
}

export async function removeOne(daemon: Daemon, created: Created, kind: Kind, id: string): Promise<void> {
  const path = DELETE_PATH[kind]
  created.forget(kind, id)
  if (!path) return
  try {
    const res = await daemon.fetch(path(id), { method: 'DELETE', signal: AbortSignal.timeout(10_000) })
    await res.arrayBuffer()
  } catch {}
}

/** Everything the fuzz made, including contexts it did not see being created (defaults). */
export async function removeCreated(daemon: Daemon, created: Created): Promise<void> {
  try {
    const res = await daemon.fetch('/code/contexts', { signal: AbortSignal.timeout(10_000) })
    if (res.ok) for (const c of (await res.json()) as { id: string }[]) created.add('context', c.id)
  } catch {}
  // Commands are left out: the fuzz runs only short ones, and the daemon's retention drops them.
  for (const kind of ['session', 'pty', 'context', 'isolated'] as Kind[])
    for (const id of created.all(kind)) await removeOne(daemon, created, kind, id)
}
