/**
 * The secrets leave execd's /proc before its first child exists: the overwrite waits for the
 * first spawn (core/process.ts calls it), so a process that withdraws its secrets and spawns at
 * once must still hide them. Run in a process of its own: the scrub rewrites its argv and environ.
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'

const SCRIPT = `
import { withdrawSecrets } from ${JSON.stringify(join(import.meta.dir, 'secrets.ts'))}
import { spawnOwned } from ${JSON.stringify(join(import.meta.dir, 'process.ts'))}
const [token] = process.argv.slice(-1)
withdrawSecrets([{ flag: 'tok', env: 'TEST_SECRET_TOKEN', description: '', secret: true }], [token], () => console.log('SCRUB' + '_FAILED'))
const child = spawnOwned(['sh', '-c', 'tr "\\\\0" " " < /proc/$PPID/cmdline; echo; tr "\\\\0" " " < /proc/$PPID/environ; echo; env'])
process.stdout.write(await new Response(child.stdout).text())
await child.exited
`

test('a child spawned right after the secrets are withdrawn reads none of them in its parent /proc', async () => {
  const token = `T${crypto.randomUUID().replaceAll('-', '')}`
  const proc = Bun.spawn([process.execPath, '-e', SCRIPT, '--tok', token], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, TEST_SECRET_TOKEN: token },
  })
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  expect(await proc.exited).toBe(0)
  expect(err).toBe('')
  expect(out).toContain('--tok ') // the child did read its parent's cmdline
  expect(out).toContain('TEST_SECRET_TOKEN=*') // and environ: the name stays, the value is gone
  expect(out).not.toContain(token)
  expect(out).not.toContain('SCRUB_FAILED')
})
