/**
 * A java context's helper connects to execd over a socket in execd's `execd-java-<pid>-…` dir,
 * its name in TMPDIR's listing. The JVM takes a while to start: were the dir removed meanwhile
 * (a temp cleaner, a `rm -rf /tmp/*`), another user could make it again with a socket of theirs
 * at the name, and the root JVM connected to them and ran what they sent. The test plays the
 * cleaner and the other user (uid 65534).
 */
import { expect, test } from 'bun:test'
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, waitFor } from './harness'
import { daemonInSharedTmp } from './kit/daemon-dir'

const NOBODY = 65534
const runs = process.getuid?.() === 0 && !!Bun.which('javac') && !!Bun.which('jar')

const fx = daemonInSharedTmp('java-channel')

/** execd's channel dir of the context starting now, once its socket is there. */
const channelDir = () =>
  readdirSync(fx.tmp)
    .filter(n => n.startsWith(`execd-java-${fx.d.proc.pid}-`))
    .map(n => join(fx.tmp, n))
    .find(d => existsSync(join(d, 'channel.sock')))

test.skipIf(!runs)(
  'a java helper never connects to a socket another user put in place of execd’s',
  async () => {
    // The first start compiles the helper: the dir of a later start lives only as long as the JVM's start.
    const first = await postJson(fx.d, '/code/context', { language: 'java' })
    expect(first.status).toBe(200)
    let connections = 0
    // Until a start fails: one with the CDS archive that fails is tried again without it, in a
    // fresh dir (a 200; the archive dropped), as is one whose JVM connected before the planting.
    for (let attempt = 1; ; attempt++) {
      const starting = postJson(fx.d, '/code/context', { language: 'java' })
      let dir: string | undefined
      await waitFor('the channel socket', () => (dir = channelDir()) !== undefined, 60_000)
      // The cleaner takes the dir; the other user makes it again, listening at the socket's name.
      rmSync(dir!, { recursive: true, force: true })
      mkdirSync(dir!, { mode: 0o777 })
      chownSync(dir!, NOBODY, NOBODY)
      let connected!: () => void
      const reached = new Promise<'connected'>(r => (connected = () => r('connected')))
      const theirs = Bun.listen({
        unix: join(dir!, 'channel.sock'),
        socket: { open: () => void (connections++, connected()), data() {} },
      })
      try {
        const first = await Promise.race([starting, reached])
        // Old build: the JVM connected to their socket (theirs to send it `RUN` lines).
        expect(connections).toBe(0)
        const res = first as Response
        if (res.status === 200 && attempt < 5) continue
        expect(res.status).toBe(500)
        expect((await res.json()).message).toContain('is not this user')
        return
      } finally {
        theirs.stop(true)
        rmSync(dir!, { recursive: true, force: true })
      }
    }
  },
  240_000,
)
