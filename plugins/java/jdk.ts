/**
 * Finds the JDK behind the configured `jshell` and compiles the embedded helper with its
 * javac, once: the class files are cached per JDK and helper version in a directory only
 * this user can write (a class planted by someone else would run as execd's user).
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { buildInCache, CachedBuilds } from '../../core/cached-builds'
import { describeExit } from '../../core/exit-words'
import { spawnOwned } from '../../core/process'
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
const compiled = new CachedBuilds<Helper>(helper => existsSync(helper.classpath))
const keyOf = (jdk: Jdk) => `${jdk.javac}\0${tmpdir()}`

/** The compiled helper for this JDK, compiling it on first use (again if a tmp cleaner removed it). */
export const helperClasses = (jdk: Jdk): Promise<Helper> => compiled.get(keyOf(jdk), () => compile(jdk))

const layoutOf = (dir: string): Helper =>
  existsSync(join(dir, 'helper.jar'))
    ? { classpath: join(dir, 'helper.jar'), archive: join(dir, 'helper.jsa') }
    : { classpath: join(dir, 'classes') }

async function compile(jdk: Jdk): Promise<Helper> {
  const hash = createHash('sha256').update(LAYOUT)
  for (const [name, source] of SOURCES) hash.update(name).update(source)
  const name = `java-helper-${hash.update(jdk.javac).digest('hex').slice(0, 16)}`
  const dir = await buildInCache({ name, work: 'java-build', marker: 'done' }, async (work, out) => {
    for (const [name, source] of SOURCES) await Bun.write(join(work, name), source)
    const files = SOURCES.map(([name]) => join(work, name))
    await tool([jdk.javac, '-nowarn', '-d', join(out, 'classes'), ...files], work)
    // A JAR, because CDS archives refuse class paths with non-empty directories.
    const jar = join(dirname(jdk.javac), 'jar')
    if (existsSync(jar))
      await tool([jar, '--create', '--file', join(out, 'helper.jar'), '-C', join(out, 'classes'), '.'], work)
    await Bun.write(join(out, 'done'), '')
  })
  return layoutOf(dir)
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
