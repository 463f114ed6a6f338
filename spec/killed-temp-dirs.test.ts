/**
 * A daemon killed with SIGKILL (or by the OOM killer) with its keeper runs no exit hook: its temp dirs stay.
 * Each is an owned dir (core/temp-dir.ts), so the next execd to make one of the same kind
 * sweeps it. The java context's start dir and the javascript driver's dir were bare mkdtemp
 * dirs, removed only by an exit hook: they piled up for good.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keepersOf, pidsWith, postJson, startDaemon, waitFor, type Daemon } from './harness'
import { createContext } from './runtime-kit'

let tmp: string
let temp: string
const daemons: Daemon[] = []

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'killed-temp-dirs-'))
  temp = join(tmp, 'temp')
  mkdirSync(temp)
})
afterAll(async () => {
  for (const d of daemons) if (d.proc.exitCode === null && d.proc.signalCode === null) await d.stop()
  for (const pid of pidsWith(join(tmp, FAKE_JVM))) process.kill(pid, 'SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

const named = (prefix: string) => readdirSync(temp).filter(n => n.startsWith(prefix))

async function daemon(env: Record<string, string> = {}): Promise<Daemon> {
  const d = await startDaemon({ env: { TMPDIR: temp, ...env } })
  daemons.push(d)
  return d
}

/**
 * SIGKILLs execd with its keeper, as the OOM killer or a container's kill can: a keeper alive
 * removes execd's temp dirs itself (spec/sigkill-keeper). Stopped first, it cannot act on
 * execd's death, nor can execd start another.
 */
async function sigkill(d: Daemon): Promise<void> {
  const keepers = keepersOf(d.proc.pid)
  for (const k of keepers) process.kill(k.pid, 'SIGSTOP')
  d.proc.kill('SIGKILL')
  await d.proc.exited
  for (const k of keepers) process.kill(k.pid, 'SIGKILL')
}

/**
 * Marks the fake JDK's java in `ps` (its directory, so in its command line: a `:` line in the
 * script is in no process's argv, and afterAll found none to kill). It waits for its parent
 * (execd) to be gone.
 */
const FAKE_JVM = 'execd-spec-fake-jvm'

/**
 * A JDK whose java never connects back: a java context's start, and so its start dir, lasts
 * until execd ends it. javac makes the class dir it is asked for; there is no jar (no CDS).
 */
function fakeJdk(): string {
  const bin = join(tmp, FAKE_JVM, 'bin')
  mkdirSync(bin, { recursive: true })
  const scripts: Record<string, string> = {
    jshell: 'exit 0',
    javac: 'while [ $# -gt 0 ]; do [ "$1" = -d ] && mkdir -p "$2"; shift; done',
    java: `while kill -0 $PPID 2>/dev/null; do sleep 0.1; done`,
  }
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`)
    chmodSync(join(bin, name), 0o755)
  }
  return join(bin, 'jshell')
}

test("a java context's start dir left by a SIGKILLed execd is swept by the next java start", async () => {
  const env = { EXECD_JSHELL: fakeJdk() }
  const first = await daemon(env)
  const starting = postJson(first, '/code/context', { language: 'java' }).catch(() => undefined)
  await waitFor('the java start dir', () => named('execd-java-').length === 1)
  const [left] = named('execd-java-')
  // Found by its mark, so afterAll can end one that outlives its execd.
  await waitFor('the fake java', () => pidsWith(join(tmp, FAKE_JVM)).length === 1)
  await sigkill(first)
  await starting
  expect(named('execd-java-')).toEqual([left!])

  const second = await daemon(env)
  const again = postJson(second, '/code/context', { language: 'java' }).catch(() => undefined)
  await waitFor(`${left} swept`, () => !named('execd-java-').includes(left!))
  await second.stop()
  await again
  expect(named('execd-java-')).toEqual([])
})

test("the javascript driver's dir left by a SIGKILLed execd is swept by the next javascript context", async () => {
  const first = await daemon()
  await createContext(first, 'javascript')
  const left = named('execd-js')
  expect(left).toHaveLength(1)
  await sigkill(first)
  expect(named('execd-js')).toEqual(left)

  const second = await daemon()
  await createContext(second, 'javascript')
  await waitFor(`${left[0]} swept`, () => !named('execd-js').includes(left[0]!))
  expect(named('execd-js')).toHaveLength(1)
  await second.stop()
  expect(named('execd-js')).toEqual([])
})
