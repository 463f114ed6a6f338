/**
 * `--url` with a path: a daemon behind a gateway at a path prefix is asked beneath it, and a
 * wrong path is said, not ignored. The routes' leading `/` replaced the URL's path, so
 * `--url http://gw/sandbox/abc` asked the gateway's root (`HTTP 404:`, nothing more) and
 * `--url http://daemon/typo` drove the daemon as if the typo were not there.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone()
/** A gateway that serves the daemon beneath /sandbox/abc and answers an empty 404 elsewhere. */
let gateway: ReturnType<typeof Bun.serve>
beforeAll(async () => {
  gateway = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url)
      const prefix = '/sandbox/abc/'
      if (!url.pathname.startsWith(prefix)) return new Response(null, { status: 404 })
      const headers = new Headers(req.headers)
      headers.delete('host')
      return fetch(`${fx.d.url}/${url.pathname.slice(prefix.length)}${url.search}`, {
        method: req.method,
        headers,
        body: req.body,
        duplex: 'half',
      } as RequestInit)
    },
  })
})
afterAll(async () => {
  gateway.stop(true)
})

const env = () => ({ EXECD_ACCESS_TOKEN: fx.d.token })

test('a daemon behind a path prefix is driven beneath it', async () => {
  const base = `http://127.0.0.1:${gateway.port}/sandbox/abc`
  for (const url of [base, `${base}/`]) {
    const stat = await runCli(['fs', 'stat', '/', '--url', url], { env: env() })
    expect([url, stat.code, stat.stderr]).toEqual([url, 0, ''])
    expect(stat.stdout).toContain('type      directory')
    const ran = await runCli(['exec', '--shell', 'echo hi', '--url', url], { env: env() })
    expect([url, ran.code, ran.stdout, ran.stderr]).toEqual([url, 0, 'hi\n', ''])
  }
})

test('a wrong path is said in one line, not ignored; a server that is not execd says so', async () => {
  const typo = await runCli(['fs', 'stat', '/', '--url', `${fx.d.url}/typo`], { env: env() })
  expect(typo.code).toBe(1)
  expect(typo.stdout).toBe('')
  expect(typo.stderr).toBe('execd: route not found: GET /typo/files/info\n')
  const root = await runCli(['fs', 'stat', '/', '--url', `http://127.0.0.1:${gateway.port}`], { env: env() })
  expect(root.code).toBe(1)
  expect(root.stderr).toBe("execd: HTTP 404 (not an execd answer: is --url the daemon's address and path?)\n")
})

test("a web server's page is named by its title, and a 200 one is no success", async () => {
  // An app that answers every path with its page (200), and a server whose error pages are HTML.
  const page = (title: string, status: number) =>
    new Response(`<!DOCTYPE HTML>\n<html lang="en">\n  <head>\n    <title>${title}</title>\n  </head>\n</html>\n`, {
      status,
      headers: { 'content-type': 'text/html;charset=utf-8' },
    })
  const app = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => page('My App', 200) })
  const web = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => page('Error response', 404) })
  const dir = mkdtempSync(join(tmpdir(), 'execd-url-page-'))
  const hint = "(not an execd answer: is --url the daemon's address and path?)"
  try {
    const said = `execd: HTTP 200: a web page, "My App" ${hint}\n`
    // `get` saved the page as the file, `put` and `mkdir` exited 0, a command said its stream ended.
    for (const args of [
      ['fs', 'get', '/etc/hostname', 'got'],
      ['fs', 'put', '-', '/tmp/x'],
      ['fs', 'mkdir', '/tmp/x'],
      ['exec', '--shell', 'echo hi'],
    ]) {
      const run = await runCli([...args, '--url', `http://127.0.0.1:${app.port}`], { env: env(), cwd: dir, stdin: '' })
      expect([args, run]).toEqual([args, { code: 1, stdout: '', stderr: said }])
    }
    expect(readdirSync(dir)).toEqual([])
    // It quoted the markup, each line break a `\n`.
    const run = await runCli(['metrics', '--url', `http://127.0.0.1:${web.port}`], { env: env() })
    expect(run).toEqual({ code: 1, stdout: '', stderr: `execd: HTTP 404: a web page, "Error response" ${hint}\n` })
    const ping = await runCli(['ping', '--url', `http://127.0.0.1:${app.port}`], { env: env() })
    expect(ping).toEqual({
      code: 1,
      stdout: '',
      stderr: `execd ping: http://127.0.0.1:${app.port}/ping answered 200 with a web page: not execd\n`,
    })
  } finally {
    app.stop(true)
    web.stop(true)
    rmSync(dir, { recursive: true, force: true })
  }
})
