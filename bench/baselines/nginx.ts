/**
 * Baseline for downloads: nginx (Debian nginx-light) serving a directory on loopback with
 * sendfile, one worker, from a minimal config written into a temp dir.
 */
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, spawnTracked, stopProcess, waitFor } from '../lib/procs'

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx']

export function nginxPath(): string | null {
  return NGINX.find(p => Bun.file(p).size > 0) ?? Bun.which('nginx')
}

export const nginxMissing = (): string | null =>
  nginxPath() ? null : 'nginx baseline missing: no nginx executable (apt-get install nginx-light)'

export interface Nginx {
  url: string
  pid: number
  stop(): Promise<void>
}

/** Serves `root` (a temp dir the caller owns; the config and logs go there too). */
export async function startNginx(root: string): Promise<Nginx> {
  const bin = nginxPath()
  if (!bin) throw new Error(nginxMissing()!)
  const port = await freePort()
  const conf = join(root, 'nginx.conf')
  // Workers drop to `nobody` when the master runs as root: they must be able to read root.
  chmodSync(root, 0o755)
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/error.log;
events {}
http {
  access_log off;
  sendfile on;
  client_body_temp_path ${root}/client_body;
  proxy_temp_path ${root}/proxy;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  )
  const proc = spawnTracked([bin, '-c', conf, '-p', root], { group: true })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitFor('nginx', async () => (await fetch(`${url}/nginx.pid`)).status === 200, 10_000)
  } catch (e) {
    await stopProcess(proc)
    const log = await Bun.file(join(root, 'error.log'))
      .text()
      .catch(() => '')
    throw new Error(`${(e as Error).message}: ${log.slice(-500)}`)
  }
  return {
    url,
    pid: proc.pid,
    // SIGTERM is nginx's fast shutdown; the group kill reaches its worker.
    stop: () => stopProcess(proc, 3000),
  }
}
