/**
 * Finds the JDK behind the configured `jshell` and compiles the embedded helper with its
 * javac, once: the class files are cached per JDK and helper version in a directory only
 * this user can write (a class planted by someone else would run as execd's user).
 */
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { spawnOwned } from '../../core/process'
import helperSource from './ExecdJShell.java' with { type: 'text' }

export const HELPER_CLASS = 'ExecdJShell'

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
  if (!found) return { missing: `${jshell} not found (install a JDK, e.g. Debian's default-jdk-headless, or set --jshell)` }
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

const compiled = new Map<string, Promise<string>>()

/** The directory holding the compiled helper for this JDK, compiling it on first use. */
export function helperClasses(jdk: Jdk): Promise<string> {
  let p = compiled.get(jdk.javac)
  if (!p) {
    p = compile(jdk)
    compiled.set(jdk.javac, p)
    p.catch(() => compiled.delete(jdk.javac))
  }
  return p
}

async function compile(jdk: Jdk): Promise<string> {
  const key = createHash('sha256').update(helperSource).update(jdk.javac).digest('hex').slice(0, 16)
  const root = ownedDir(join(tmpdir(), `execd-${process.getuid?.() ?? 'user'}`))
  const dir = join(root, `java-helper-${key}`)
  if (existsSync(join(dir, `${HELPER_CLASS}.class`))) return dir
  const work = await mkdtemp(join(root, 'java-build-'))
  try {
    await Bun.write(join(work, `${HELPER_CLASS}.java`), helperSource)
    const p = spawnOwned([jdk.javac, '-nowarn', '-d', join(work, 'classes'), join(work, `${HELPER_CLASS}.java`)], {
      cwd: work,
      stdout: 'pipe',
      stderr: 'pipe',
      timeoutMs: 120_000,
    })
    const [out, err, exit] = await Promise.all([
      new Response(p.proc.stdout as ReadableStream).text(),
      new Response(p.proc.stderr as ReadableStream).text(),
      p.exited,
    ])
    if (exit.code !== 0) throw new Error(`compiling the java helper with ${jdk.javac} failed: ${(err || out).trim()}`)
    try {
      renameSync(join(work, 'classes'), dir)
    } catch (e) {
      // Another execd compiled it at the same time: theirs is as good as ours.
      if (!existsSync(join(dir, `${HELPER_CLASS}.class`))) throw e
    }
    return dir
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** Creates `dir` (0700) or accepts it only if it is ours and closed to others. */
function ownedDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = lstatSync(dir)
  const uid = process.getuid?.()
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not a private directory of this user; remove it or set TMPDIR`)
  }
  return dir
}
