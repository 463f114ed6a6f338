/**
 * A PostgreSQL server for the sql tests: the one EXECD_TEST_SQL_DSN names, or else a
 * throwaway cluster in a temp dir (Debian's postgresql package: initdb and postgres under
 * /usr/lib/postgresql/<version>/bin), started for one test file and removed after it. Neither
 * there: undefined, and the server tests skip. As root the cluster runs as the `postgres`
 * user, which the server insists on.
 */
import { spawn, spawnSync, type Subprocess } from 'bun'
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../harness'

export interface Postgres {
  dsn: string
  stop(): Promise<void>
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter(v => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] && join(root, versions[0], 'bin')
}

/** argv run as the cluster's owner: `postgres` when we are root, ourselves otherwise. */
function asOwner(argv: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...argv] : argv
}

export async function startPostgres(): Promise<Postgres | undefined> {
  const given = process.env.EXECD_TEST_SQL_DSN
  if (given) return /^postgres/.test(given) ? { dsn: given, stop: async () => {} } : undefined
  const bin = binDir()
  if (!bin) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'execd-pg-'))
  const cleanup = () => rmSync(dir, { recursive: true, force: true })
  if (process.getuid?.() === 0) {
    const pg = spawnSync(['id', '-u', 'postgres'])
    if (pg.exitCode !== 0) return void cleanup()
    chownSync(dir, Number(pg.stdout.toString()), -1)
  }
  const data = join(dir, 'data')
  const user = process.getuid?.() === 0 ? 'postgres' : userInfo().username
  const init = spawnSync(asOwner([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', user, '--no-sync']), {
    stdout: 'pipe',
    stderr: 'pipe',
  })
  if (init.exitCode !== 0) {
    cleanup()
    throw new Error(`initdb failed: ${init.stderr.toString()}`)
  }
  const port = await freePort()
  const server: Subprocess = spawn(
    asOwner([
      join(bin, 'postgres'),
      '-D',
      data,
      '-k',
      dir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
    ]),
    { stdout: 'ignore', stderr: 'pipe' },
  )
  const dsn = `postgres://${user}@127.0.0.1:${port}/postgres`
  const stop = async () => {
    // runuser does not pass signals on: the postmaster itself gets the fast shutdown.
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
      if (pid > 0) process.kill(pid, 'SIGINT')
    } catch {
      server.kill('SIGKILL')
    }
    await server.exited
    cleanup()
  }
  for (let i = 0; i < 300; i++) {
    const ready = spawnSync([join(bin, 'pg_isready'), '-q', '-h', '127.0.0.1', '-p', String(port)])
    if (ready.exitCode === 0) return { dsn, stop }
    if (server.exitCode !== null) break
    await Bun.sleep(100)
  }
  await stop()
  throw new Error(`postgres did not start on port ${port}`)
}
