/**
 * `exec <language> --url` stopped while the daemon is still opening the context (before the
 * first cell runs): nothing the CLI opened may outlive it. It exited at the signal, with no stop
 * of its own yet, and the daemon kept the context (and its interpreter) for its idle timeout.
 * A relay between the CLI and the daemon holds the daemon's answer to `POST /code/context`
 * until the CLI has said it waits for it: the context exists, and the CLI has not heard of it yet.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { BIN, spawnCli, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { hasTool, terminal } from './kit/tmux'
import { pythonAvailable } from './python-env'

const fx = daemonAlone()
let relay: ReturnType<typeof Bun.serve>
/** Resolved when the daemon has answered an open; the relay holds that answer until `release`. */
let opened: PromiseWithResolvers<void>
let release: PromiseWithResolvers<void>

beforeAll(async () => {
  relay = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : await req.arrayBuffer()
      const res = await fetch(`${fx.d.url}${url.pathname}${url.search}`, {
        method: req.method,
        headers: req.headers,
        body,
      })
      if (req.method === 'POST' && url.pathname === '/code/context') {
        opened.resolve()
        await release.promise
      }
      return res
    },
  })
})
afterAll(async () => {
  relay.stop(true)
})

const STOPPING =
  'execd: stopping once the daemon has opened the python context, to close it (at most 15 s; a second Ctrl-C leaves it open)\n'

const contexts = async (): Promise<unknown[]> => (await fx.d.fetch('/code/contexts')).json() as Promise<unknown[]>

test.skipIf(pythonAvailable !== true)(
  "a stop while the daemon opens the context deletes it once its id comes: 130, 143, 129, the daemon's list empty",
  async () => {
    for (const [signal, status] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
      ['SIGHUP', 129],
    ] as const) {
      opened = Promise.withResolvers()
      release = Promise.withResolvers()
      const p = spawnCli(['exec', 'python', '--url', `http://127.0.0.1:${relay.port}`, 'print("ran")'], {
        env: { EXECD_ACCESS_TOKEN: fx.d.token },
      })
      await opened.promise
      expect(await contexts()).toHaveLength(1)
      p.kill(signal)
      // The wait for the context is said at once, before its answer comes (it was silent: up to
      // 16 s); the answer is held until then, so the signal lands while the context opens.
      const said = new TextDecoder().decode((await p.stderr.getReader().read()).value)
      expect([signal, said]).toEqual([signal, STOPPING])
      release.resolve()
      const [code, stdout] = await Promise.all([p.exited, new Response(p.stdout).text()])
      expect([signal, code, stdout]).toEqual([signal, status, ''])
      await waitFor(`the context of ${signal} deleted`, async () => (await contexts()).length === 0)
    }
  },
  60_000,
)

test.skipIf(pythonAvailable !== true)(
  'a context that takes longer to open than a run’s grace (a JVM: seconds) is still waited for and deleted',
  async () => {
    opened = Promise.withResolvers()
    release = Promise.withResolvers()
    const p = spawnCli(['exec', 'python', '--url', `http://127.0.0.1:${relay.port}`, 'print("ran")'], {
      env: { EXECD_ACCESS_TOKEN: fx.d.token },
    })
    await opened.promise
    p.kill('SIGTERM')
    const said = new TextDecoder().decode((await p.stderr.getReader().read()).value)
    expect(said).toBe(STOPPING)
    // The open's grace is 15 s; the build before kept the first verb's 2 s (handlers installed
    // once), left at 3 s and the daemon kept the context.
    await Bun.sleep(5000)
    expect(p.exitCode).toBeNull()
    release.resolve()
    expect(await p.exited).toBe(143)
    await waitFor('the context deleted', async () => (await contexts()).length === 0)
  },
  60_000,
)

test.skipIf(pythonAvailable !== true || !hasTool('tmux'))(
  'Ctrl-C at a terminal while the prompt of `exec python --url` waits for its context: 130, no prompt, nothing left',
  async () => {
    const term = terminal('execd-stop-open')
    try {
      term.shell()
      opened = Promise.withResolvers()
      release = Promise.withResolvers()
      term.keys(
        `EXECD_ACCESS_TOKEN=${fx.d.token} ${BIN} exec python --url http://127.0.0.1:${relay.port}; echo "status=$?"`,
        'Enter',
      )
      await opened.promise
      term.keys('C-c')
      await term.shows(STOPPING.slice(0, 60)) // as above: held until said (the line wraps)
      release.resolve()
      await term.shows('status=130')
      expect(term.screen()).not.toContain('python>')
      await waitFor('the prompt’s context deleted', async () => (await contexts()).length === 0)
    } finally {
      term.close()
    }
  },
  60_000,
)
