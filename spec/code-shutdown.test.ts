/**
 * A `/code` whose context is still starting when execd stops: the answer names the shutdown (503,
 * as a refused session's), and neither the start's build dir nor its socket dir stays behind.
 * Each test has a TMPDIR of its own, so the helper or kernel is built from scratch, as on a
 * container's first start.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findJdk } from '../plugins/java/jdk'
import { findGo } from '../plugins/go/toolchain'
import { pidsWith, postJson, spawnCli, startDaemon, waitFor, type Daemon } from './harness'

const jdk = findJdk(process.env.EXECD_JSHELL || 'jshell')
const javaMissing = 'missing' in jdk ? jdk.missing : undefined
/** The helper's compile, as it shows in the process list. */
const javac = 'missing' in jdk ? '' : `${jdk.javac} -nowarn`
const toolchain = await findGo(process.env.EXECD_GO || 'go')
const goMissing = 'missing' in toolchain ? toolchain.missing : undefined

/** A TMPDIR of its own (0755: execd's children may run as other users), removed after `fn`. */
async function withTmp(fn: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'execd-shutdown-test-'))
  chmodSync(tmp, 0o755)
  try {
    await fn(tmp)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** What execd left in `tmp` and in its cache dir there: its own temp dirs and build dirs. */
function leftovers(tmp: string): string[] {
  const cache = `execd-${process.getuid?.()}`
  const names = (dir: string) => {
    try {
      return readdirSync(dir)
    } catch {
      return []
    }
  }
  return [
    ...names(tmp).filter(n => n.startsWith('execd-') && n !== cache),
    ...names(join(tmp, cache)).filter(n => /build/.test(n)),
  ]
}

/** POST /code in `language`'s default context; its answer (status and body) once it comes. */
function startCell(d: Daemon, language: string): Promise<{ status: number; body: string }> {
  return postJson(d, '/code', { code: '1', context: { language } }).then(
    async res => ({ status: res.status, body: await res.text() }),
    err => ({ status: 0, body: String(err) }),
  )
}

/** SIGTERM once `marker` runs as a child of execd; the cell's answer and what stayed behind. */
async function stopDuring(language: string, marker: string) {
  let outcome: { answer: { status: number; body: string }; left: string[]; exit: number } | undefined
  await withTmp(async tmp => {
    const d = await startDaemon({ env: { TMPDIR: tmp } })
    const answer = startCell(d, language)
    await waitFor(marker, () => pidsWith(marker, d.proc.pid).length > 0, 60_000)
    const exit = await d.stop()
    outcome = { answer: await answer, left: leftovers(tmp), exit }
  })
  return outcome
}

/**
 * SIGKILLs execd while its build (`builder`, whose argv names the dir) runs and then the build
 * itself (an orphan in a group of its own now); the next execd's start of `language` leaves none
 * of the build dirs (`prefix`) behind.
 */
async function killMidBuild(language: string, builder: (tmp: string) => string, prefix: string): Promise<void> {
  await withTmp(async tmp => {
    const first = await startDaemon({ env: { TMPDIR: tmp } })
    void startCell(first, language)
    await waitFor('the build', () => pidsWith(builder(tmp), first.proc.pid).length > 0, 60_000)
    first.proc.kill('SIGKILL')
    await first.proc.exited
    for (const pid of pidsWith(builder(tmp))) process.kill(-pid, 'SIGKILL')
    await waitFor('the build to end', () => pidsWith(builder(tmp)).length === 0)
    expect(leftovers(tmp).filter(n => n.startsWith(prefix))).toHaveLength(1)
    const next = await startDaemon({ env: { TMPDIR: tmp } })
    try {
      expect((await postJson(next, '/code/context', { language })).status).toBe(200)
      // The live context's own temp dir (go's module dir) is not a leftover yet.
      expect(leftovers(tmp).filter(n => n.includes('build'))).toEqual([])
    } finally {
      await next.stop()
    }
  })
}

/**
 * The one-shot verb exits on the signal without awaiting the build (`builder`, whose argv names
 * the dir): its finally never ran, and the build dir stayed.
 */
function verbStoppedMidBuild(language: string, code: string, builder: (tmp: string) => string): void {
  for (const [signal, status] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    test(`\`execd exec ${language}\` stopped by ${signal} while its build runs leaves no build dir`, async () => {
      await withTmp(async tmp => {
        const verb = spawnCli(['exec', language], { stdin: code, env: { TMPDIR: tmp } })
        await waitFor('the build', () => pidsWith(builder(tmp), verb.pid).length > 0, 60_000)
        verb.kill(signal)
        expect(await verb.exited).toBe(status)
        expect(leftovers(tmp)).toEqual([])
      })
    })
  }
}

const shutdownAnswer = { status: 503, body: { code: 'SERVICE_UNAVAILABLE', message: 'execd is shutting down' } }
function parsed(a: { status: number; body: string }): { status: number; body: unknown } {
  try {
    return { status: a.status, body: JSON.parse(a.body) }
  } catch {
    return a // no answer at all (status 0), or not JSON
  }
}

describe.skipIf(!!javaMissing)(`java${javaMissing ? ` (skipped: ${javaMissing})` : ''}`, () => {
  test('a cell whose helper javac compiles at SIGTERM gets the 503 of the shutdown; no build dir stays', async () => {
    const outcome = await stopDuring('java', javac)
    expect(parsed(outcome!.answer)).toEqual(shutdownAnswer)
    expect(outcome!.left).toEqual([])
    expect(outcome!.exit).toBe(0)
  })

  test('a cell whose JVM starts at SIGTERM gets the 503 of the shutdown; its socket dir goes', async () => {
    const outcome = await stopDuring('java', 'ExecdJShell /')
    expect(parsed(outcome!.answer)).toEqual(shutdownAnswer)
    expect(outcome!.left).toEqual([])
  })

  test("the helper build of an execd killed mid-way is removed by the next execd's build", async () => {
    await killMidBuild('java', tmp => `${javac} -d ${tmp}`, 'java-build-')
  })

  verbStoppedMidBuild('java', 'System.out.println(42);\n', tmp => `${javac} -d ${tmp}`)
})

/** What the java helper's cache dirs hold beyond the helper and its archive. */
function helperExtras(tmp: string): string[] {
  const cache = join(tmp, `execd-${process.getuid?.()}`)
  const made = new Set(['classes', 'done', 'helper.jar', 'helper.jsa'])
  return readdirSync(cache)
    .filter(n => n.startsWith('java-helper-'))
    .flatMap(n => readdirSync(join(cache, n)).filter(f => !made.has(f)))
}

describe.skipIf(!!javaMissing)(`java's archive${javaMissing ? ` (skipped: ${javaMissing})` : ''}`, () => {
  test("the archive a killed execd's training JVM writes as it exits is removed by the next training", async () => {
    await withTmp(async tmp => {
      const training = `ArchiveClassesAtExit=${tmp}`
      const first = await startDaemon({ env: { TMPDIR: tmp } })
      void startCell(first, 'java')
      await waitFor('the training run', () => pidsWith(training, first.proc.pid).length > 0, 90_000)
      first.proc.kill('SIGKILL')
      await first.proc.exited
      // Its channel closed, the orphaned JVM exits by itself, writing its archive.
      await waitFor('the training JVM to exit', () => pidsWith(training).length === 0, 60_000)
      expect(helperExtras(tmp)).toHaveLength(1)
      const next = await startDaemon({ env: { TMPDIR: tmp } })
      try {
        expect((await postJson(next, '/code/context', { language: 'java' })).status).toBe(200)
        expect(helperExtras(tmp)).toEqual([])
      } finally {
        await next.stop()
      }
    })
  }, 180_000)
})

describe.skipIf(!!goMissing)(`go${goMissing ? ` (skipped: ${goMissing})` : ''}`, () => {
  test('a cell whose kernel go builds at SIGTERM gets the 503 of the shutdown; no build dir stays', async () => {
    const outcome = await stopDuring('go', ' build -buildvcs=false')
    expect(parsed(outcome!.answer)).toEqual(shutdownAnswer)
    expect(outcome!.left).toEqual([])
  })

  test("the kernel build of an execd killed mid-way is removed by the next execd's build", async () => {
    await killMidBuild('go', tmp => ` build -buildvcs=false -o ${tmp}`, 'go-kernel-build-')
  })

  verbStoppedMidBuild('go', 'package main\nfunc main() { for {} }\n', tmp => ` build -buildvcs=false -o ${tmp}`)
})
