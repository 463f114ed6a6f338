/**
 * Finds the Go toolchain and builds the embedded kernel (kernel/*.go) with it, once: the binary
 * is cached per toolchain and kernel version in a directory only this user can write (a binary
 * planted by someone else would run as execd's user), beside the shared build cache (GOCACHE)
 * that keeps a warm cell from recompiling what earlier cells and execd runs already compiled.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { buildInCache, CachedBuilds } from '../../core/cached-builds'
import { childEnv } from '../../core/child-env'
import { describeExit } from '../../core/exit-words'
import { spawnOwned } from '../../core/process'
import { userCacheDir } from '../../core/temp-dir'
import cacheSource from './kernel/cache.go' with { type: 'text' }
import cellSource from './kernel/cell.go' with { type: 'text' }
import defsSource from './kernel/defs.go' with { type: 'text' }
import dirSource from './kernel/dir.go' with { type: 'text' }
import execSource from './kernel/exec.go' with { type: 'text' }
import localsSource from './kernel/locals.go' with { type: 'text' }
import mainSource from './kernel/main.go' with { type: 'text' }
import programSource from './kernel/program.go' with { type: 'text' }
import replaySource from './kernel/replay.go' with { type: 'text' }
import segmentSource from './kernel/segment.go' with { type: 'text' }

const KERNEL_SOURCES: Record<string, string> = {
  'main.go': mainSource,
  'cache.go': cacheSource,
  'cell.go': cellSource,
  'defs.go': defsSource,
  'dir.go': dirSource,
  'exec.go': execSource,
  'locals.go': localsSource,
  'program.go': programSource,
  'replay.go': replaySource,
  'segment.go': segmentSource,
}

/** Generics and `any` in the kernel, and in what users write. */
const MIN_MINOR = 18

export interface Toolchain {
  go: string
  /** `go1.19.8` */
  version: string
  /** The go directive of a module for this toolchain: `1.19`. */
  language: string
}

/** Why the toolchain cannot be used; `error` is the failure, when one (a spawn's EAGAIN) said so. */
export interface Missing {
  missing: string
  error?: unknown
}

/** Probed toolchains by path and modification time: a context start need not ask `go` again. */
const probed = new Map<string, Promise<Toolchain | Missing>>()

/** The toolchain of `go` (a name on PATH or a path), or why it cannot be used. */
export async function findGo(go: string): Promise<Toolchain | Missing> {
  const found = isAbsolute(go) || go.includes('/') ? (existsSync(go) ? go : null) : Bun.which(go)
  if (!found)
    return { missing: `${go} not found (install a Go toolchain, e.g. Debian's golang-go, or set --go or EXECD_GO)` }
  let key: string
  try {
    key = `${found}\0${statSync(found).mtimeMs}`
  } catch {
    return { missing: `${found} cannot be read` }
  }
  let p = probed.get(key)
  if (!p) {
    p = probe(found)
    probed.set(key, p)
    // Only a working toolchain is remembered; a failure is asked again next time.
    void p.then(tc => 'missing' in tc && probed.delete(key))
  }
  return p
}

async function probe(found: string): Promise<Toolchain | Missing> {
  try {
    // Offline, but without the cache: a probe builds nothing, and making the cache dir for it
    // left an empty execd-<uid> in TMPDIR after every `execd exec bash` (each probes the runtimes).
    const env = { ...childEnv(), ...asEnv(OFFLINE) }
    const p = spawnOwned([found, 'env', 'GOVERSION'], { cwd: tmpdir(), env, timeoutMs: 10_000 })
    const [out, err, exit] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
    const version = out.trim()
    const m = /go(\d+)\.(\d+)/.exec(version)
    if (exit.code !== 0 || !m) return { missing: `${found} env GOVERSION failed: ${(err || out).trim().slice(0, 200)}` }
    if (Number(m[1]) === 1 && Number(m[2]) < MIN_MINOR)
      return { missing: `${found} is ${version}; the go runtime needs go1.${MIN_MINOR} or later` }
    return { go: found, version, language: `${m[1]}.${m[2]}` }
  } catch (e) {
    return { missing: `${found}: ${(e as Error).message}`, error: e }
  }
}

/** The private directory of this user's execd caches (shared with the java helper's). */
function cacheRoot(): string {
  return userCacheDir()
}

/**
 * The environment `go build` runs with: the context's, plus the shared build cache, and offline
 * (no module proxy, no checksum database, no toolchain download).
 */
function goEnv(env: Record<string, string>, tc: Toolchain): Record<string, string> {
  return { ...env, ...asEnv(goBuildEnv(env, tc)) }
}

/**
 * `-trimpath` keeps the module's dir out of a build's cache keys: the dir a context builds in
 * (/proc/<pid>/fd/<n>) made the same cell new to the cache in every context. From go 1.20 only:
 * before, the standard library came compiled in GOROOT/pkg, and a trimmed build compiled it all
 * again into the cache (go 1.19: 31 MB, a first cell on a fresh machine 3.5 → 32-46 s).
 */
const trimsPaths = (tc: Pick<Toolchain, 'language'>) => {
  const [major = 0, minor = 0] = tc.language.split('.').map(Number)
  return major > 1 || minor >= 20
}

const asEnv = (pairs: string[]): Record<string, string> =>
  Object.fromEntries(pairs.map(kv => kv.split(/=(.*)/s, 2) as [string, string]))

/** No module proxy, no checksum database, no toolchain download, no workspace: every go run's. */
const OFFLINE = ['GOFLAGS=-mod=mod', 'GOPROXY=off', 'GOSUMDB=off', 'GOTOOLCHAIN=local', 'GOWORK=off', 'GO111MODULE=on']

/** The build cache every go build of this user's execd shares (kernel/cache.go bounds it). */
export const goCacheDir = () => join(cacheRoot(), 'go-cache')

/** goEnv's additions, as KEY=VALUE (what the kernel adds to `go build`'s environment). */
export function goBuildEnv(env: Record<string, string>, tc?: Pick<Toolchain, 'language'>): string[] {
  const root = cacheRoot()
  const out = [`GOCACHE=${goCacheDir()}`, ...OFFLINE]
  if (tc && trimsPaths(tc)) out[1] += ' -trimpath'
  // The module cache lives under GOPATH, by default under HOME: a context without either
  // (a bare service environment) gets one of its own.
  if (!env.GOPATH && !env.HOME) out.push(`GOPATH=${join(root, 'go-path')}`)
  // Without a C compiler (Debian's golang-go only recommends gcc), a go before 1.20 still
  // builds with cgo and fails on the first `net` or `os/user` import; go 1.20 and later turn
  // cgo off themselves in that case.
  const cc = (env.CC || 'gcc').split(/\s+/)[0] ?? 'gcc'
  if (!env.CGO_ENABLED && !Bun.which(cc, { PATH: env.PATH ?? '' })) out.push('CGO_ENABLED=0')
  return out
}

/** Bumped when the cached layout changes, so old caches are not misread. */
const LAYOUT = 'go-kernel-1'
const built = new CachedBuilds<string>(binary => existsSync(binary))

/** The kernel binary for this toolchain, building it on first use (again if a tmp cleaner removed it). */
export const kernelBinary = (tc: Toolchain): Promise<string> => built.get(`${tc.go}\0${tc.version}`, () => build(tc))

async function build(tc: Toolchain): Promise<string> {
  const hash = createHash('sha256').update(LAYOUT).update(tc.go).update(tc.version)
  for (const [name, source] of Object.entries(KERNEL_SOURCES)) hash.update(name).update(source)
  const name = `go-kernel-${hash.digest('hex').slice(0, 16)}`
  const dir = await buildInCache({ name, work: 'go-kernel-build', marker: 'kernel' }, async (work, out) => {
    mkdirSync(out)
    await Bun.write(join(work, 'go.mod'), `module execdgokernel\n\ngo ${tc.language}\n`)
    for (const [name, source] of Object.entries(KERNEL_SOURCES)) await Bun.write(join(work, name), source)
    const p = spawnOwned([tc.go, 'build', '-buildvcs=false', '-o', join(out, 'kernel'), '.'], {
      cwd: work,
      // go's own work dir inside ours, removed with it however the build ended.
      env: { ...goEnv(childEnv(), tc), GOTMPDIR: work },
      timeoutMs: 300_000,
    })
    const [text, err, exit] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ])
    if (exit.code !== 0) {
      throw new Error(`building the go kernel failed: ${(err || text).trim().slice(0, 2000) || describeExit(exit)}`)
    }
  })
  return join(dir, 'kernel')
}
