/**
 * As PID 1 of a container, execd adopts orphaned grandchildren and must reap them. A fresh
 * PID namespace (unshare) makes the executable PID 1; nsenter drops an orphan into it.
 */
import { expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { NEW_PID_NAMESPACE, serveArgv, canUnshare, childrenOf, freePort, waitFor } from './harness'

test.skipIf(!canUnshare)('as PID 1, execd reaps orphans re-parented to it (needs root and unshare)', async () => {
  const port = await freePort()
  const outer = Bun.spawn([...NEW_PID_NAMESPACE, ...serveArgv(port)], {
    stdout: 'ignore',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
  })
  let execd = 0
  try {
    for (let i = 0; i < 200; i++) {
      if (
        (await fetch(`http://127.0.0.1:${port}/ping`).then(
          r => r.status,
          () => 0,
        )) === 200
      )
        break
      await Bun.sleep(25)
    }
    execd = childrenOf(outer.pid)[0]?.pid ?? 0
    expect(execd).toBeGreaterThan(0)
    // The subshell exits at once; its job is orphaned into the namespace and adopted by PID 1,
    // and runs until the test says go (it was a `sleep 0.4`: under load it ended, reaped,
    // before it was looked for).
    const go = `${tmpdir()}/execd-pid1-go-${crypto.randomUUID()}`
    Bun.spawnSync(
      [
        'nsenter',
        '-t',
        String(execd),
        '-p',
        '--',
        'bash',
        '-c',
        `(while [ ! -e ${go} ]; do sleep 0.05; done &) ; true`,
      ],
      { stdout: 'ignore', stderr: 'ignore' },
    )
    // Adopted and still running (S or R), not yet reaped.
    expect(childrenOf(execd).filter(c => c.state !== 'Z').length).toBe(1)
    writeFileSync(go, '')
    try {
      await waitFor('the orphan to be reaped', () => childrenOf(execd).length === 0)
    } finally {
      rmSync(go, { force: true })
    }
  } finally {
    // Signal execd itself: unshare does not forward signals to the namespace's init.
    if (execd) process.kill(execd, 'SIGTERM')
    else outer.kill('SIGKILL')
    await outer.exited
  }
  expect(await new Response(outer.stderr).text()).toContain('reaping orphaned processes')
})
