/**
 * Finds the JDK behind the configured `jshell` and compiles the embedded helper with its
 * javac, once: the class files are cached per JDK and helper version in a directory only
 * this user can write (a class planted by someone else would run as execd's user).
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, realpathSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { describeExit } from '../../core/exit-words'
import { spawnOwned } from '../../core/process'
import { OwnedTempDir, userCacheDir } from '../../core/temp-dir'
import channelSource from './ExecdChannel.java' with { type: 'text' }
import helperSource from './ExecdJShell.java' with { type: 'text' }

export const HELPER_CLASS = 'ExecdJShell'
/** The helper's sources, by file name: the class it starts and the protocol channel it writes through. */
const SOURCES: [string, string][] = [
  [`${HELPER_CLASS}.java`, helperSource],
  ['ExecdChannel.java', channelSource],
]

export interface Jdk {
  jshell: string
  java: string
  javac: string
  /** JAVA_VERSION from the JDK's release file, when it has one. */
  version?: string
}

/** The JDK of `jshell` (a name on PATH or a path), or why it cannot be used. */
export function findJdk(jshell: string): Jdk | { missing: string } {
  const found = isAbsolute(jshell) || jshell.includes('/') ? (existsSync(jshell) ? jshell : null) : Bun.which(jshell)
  if (!found)
    return {
      missing: `${jshell} not found (install a JDK, e.g. Debian's default-jdk-headless, or set --jshell or EXECD_JSHELL)`,
    }
  // Debian links /usr/bin/jshell through /etc/alternatives; the JDK is where the link ends.
  const bin = dirname(realpathSync(found))
  const java = join(bin, 'java')
  const javac = join(bin, 'javac')
  if (!existsSync(java) || !existsSync(javac)) return { missing: `java or javac not found beside ${found} in ${bin}` }
  let version: string | undefined
  try {
    version = /^JAVA_VERSION="([^"]+)"/m.exec(readFileSync(join(bin, '..', 'release'), 'utf8'))?.[1]
  } catch {}
  return { jshell: found, java, javac, version }
}

/** The compiled helper: its class path, and where its class-data-sharing archive lives. */
interface Helper {
  classpath: string
  /** Path of the CDS archive (a JAR class path is required for one); absent without `jar`. */
  archive?: string
}

/** Bumped when the cached layout changes, so old caches are not misread. */
const LAYOUT = 'jar+jsa-1'
/** By javac and cache root: a process whose TMPDIR changed (a test's private cache) compiles anew. */
const compiled = new Map<string, Promise<Helper>>()
const keyOf = (jdk: Jdk) => `${jdk.javac}\0${tmpdir()}`

/** The compiled helper for this JDK, compiling it on first use (again if a tmp cleaner removed it). */
export async function helperClasses(jdk: Jdk): Promise<Helper> {
  const key = keyOf(jdk)
  // The cache's dir looked at first, as go's kernel's (plugins/go/toolchain.ts kernelBinary).
  userCacheDir()
  const cached = await compiled.get(key)?.catch(() => undefined)
  if (cached && existsSync(cached.classpath)) return cached
  let p = compiled.get(key)
  if (!p || cached) {
    p = compile(jdk)
    compiled.set(key, p)
    p.catch(() => compiled.delete(key))
  }
  return p
}

const layoutOf = (dir: string): Helper =>
  existsSync(join(dir, 'helper.jar'))
    ? { classpath: join(dir, 'helper.jar'), archive: join(dir, 'helper.jsa') }
    : { classpath: join(dir, 'classes') }

async function compile(jdk: Jdk): Promise<Helper> {
  const hash = createHash('sha256').update(LAYOUT)
  for (const [name, source] of SOURCES) hash.update(name).update(source)
  const key = hash.update(jdk.javac).digest('hex').slice(0, 16)
  const root = userCacheDir()
  const dir = join(root, `java-helper-${key}`)
  if (existsSync(join(dir, 'done'))) return layoutOf(dir)
  // Owned (locked while this execd lives): the build of an execd killed mid-way is swept by
  // the next build, which is bound to come since the helper was never made. Removed at exit
  // too: `execd exec java` stopped mid-build exits without awaiting it (its dir stayed).
  const workDir = new OwnedTempDir('java-build', root, { removeAtExit: true })
  const work = workDir.ensure()
  try {
    const out = join(work, 'out')
    for (const [name, source] of SOURCES) await Bun.write(join(work, name), source)
    const files = SOURCES.map(([name]) => join(work, name))
    await tool([jdk.javac, '-nowarn', '-d', join(out, 'classes'), ...files], work)
    // A JAR, because CDS archives refuse class paths with non-empty directories.
    const jar = join(dirname(jdk.javac), 'jar')
    if (existsSync(jar))
      await tool([jar, '--create', '--file', join(out, 'helper.jar'), '-C', join(out, 'classes'), '.'], work)
    await Bun.write(join(out, 'done'), '')
    try {
      renameSync(out, dir)
    } catch (e) {
      // Another execd compiled it at the same time: theirs is as good as ours.
      if (!existsSync(join(dir, 'done'))) throw e
    }
    return layoutOf(dir)
  } finally {
    workDir.close()
  }
}

async function tool(argv: string[], cwd: string): Promise<void> {
  const p = spawnOwned(argv, { cwd, stdout: 'pipe', stderr: 'pipe', timeoutMs: 120_000 })
  const [out, err, exit] = await Promise.all([
    new Response(p.proc.stdout as ReadableStream).text(),
    new Response(p.proc.stderr as ReadableStream).text(),
    p.exited,
  ])
  if (exit.code !== 0) {
    throw new Error(`preparing the java helper: ${argv[0]} failed: ${(err || out).trim() || describeExit(exit)}`)
  }
}
