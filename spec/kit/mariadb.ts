/**
 * A MySQL-protocol server for the sql tests: the one EXECD_TEST_MYSQL_DSN names, or else a
 * throwaway MariaDB (Debian's mariadb-server: /usr/sbin/mariadbd) on an empty data dir in a temp
 * dir, without grant tables (anyone may connect: it listens on loopback for one test file),
 * with one database, `execd`. Neither there: undefined, and the MySQL tests skip. As root the
 * server runs as the `mysql` user.
 */
import { SQL, spawn, spawnSync, type Subprocess } from 'bun'
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../harness'

const MARIADBD = '/usr/sbin/mariadbd'

export interface Mariadb {
  dsn: string
  stop(): Promise<void>
}

export async function startMariadb(): Promise<Mariadb | undefined> {
  const given = process.env.EXECD_TEST_MYSQL_DSN
  if (given) return { dsn: given, stop: async () => {} }
  if (!existsSync(MARIADBD)) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'execd-mariadb-'))
  const data = join(dir, 'data')
  mkdirSync(data)
  const root = process.getuid?.() === 0
  if (root) {
    const id = spawnSync(['id', '-u', 'mysql'])
    if (id.exitCode !== 0) return void rmSync(dir, { recursive: true, force: true })
    for (const d of [dir, data]) chownSync(d, Number(id.stdout.toString()), -1)
  }
  const port = await freePort()
  const server: Subprocess = spawn(
    [
      MARIADBD,
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${join(dir, 'sock')}`,
      // Its own temp files in its own dir: $TMPDIR (the tests' own, root's) it may not write.
      `--tmpdir=${dir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-grant-tables',
      '--innodb-buffer-pool-size=16M',
      ...(root ? ['--user=mysql'] : []),
    ],
    { stdout: 'ignore', stderr: 'ignore' },
  )
  const stop = async () => {
    server.kill('SIGTERM')
    await server.exited
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; i < 300 && server.exitCode === null; i++) {
    const sql = new SQL(`mysql://root@127.0.0.1:${port}/information_schema`, { max: 1, connectionTimeout: 2 })
    try {
      await sql.unsafe('CREATE DATABASE IF NOT EXISTS execd')
      return { dsn: `mysql://root@127.0.0.1:${port}/execd`, stop }
    } catch {
      await Bun.sleep(100)
    } finally {
      await sql.close({ timeout: 0 })
    }
  }
  await stop()
  throw new Error(`mariadbd did not start on port ${port}`)
}
