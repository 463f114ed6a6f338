/**
 * The SDK's README snippets that reach execd (Quick Start, "Command Execution & Streaming",
 * "Comprehensive File Operations"), run through a real `Sandbox`: `Sandbox.create` asks a
 * lifecycle server for the sandbox and its execd endpoint, waits for execd's /ping, then drives
 * the daemon. The lifecycle server here is a stand-in that answers those three calls with this
 * daemon's address and token header; everything after is the SDK against dist/execd. Only the
 * snippets' /tmp/demo is a private dir, and their console output is collected.
 */
import { ConnectionConfig, Sandbox, SandboxException, type ExecutionHandlers } from '@alibaba-group/opensandbox'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone()
let lifecycle: ReturnType<typeof Bun.serve>
const calls: string[] = []
const demo = mkdtempSync(join(tmpdir(), 'execd-sdk-readme-'))

beforeAll(async () => {
  const execd = new URL(fx.d.url).host
  lifecycle = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      const { pathname } = new URL(req.url)
      calls.push(`${req.method} ${pathname}`)
      const now = new Date().toISOString()
      if (req.method === 'POST' && pathname === '/v1/sandboxes') {
        return Response.json(
          { id: 'sbx-1', status: { state: 'Running' }, createdAt: now, entrypoint: [] },
          { status: 202 },
        )
      }
      if (req.method === 'GET' && pathname.startsWith('/v1/sandboxes/sbx-1/endpoints/')) {
        return Response.json({ endpoint: execd, headers: { 'X-EXECD-ACCESS-TOKEN': fx.d.token } })
      }
      if (req.method === 'DELETE' && pathname === '/v1/sandboxes/sbx-1') return new Response(null, { status: 204 })
      return Response.json({ code: 'NOT_FOUND', message: pathname }, { status: 404 })
    },
  })
})
afterAll(async () => {
  lifecycle?.stop(true)
  rmSync(demo, { recursive: true, force: true })
})

const config = () =>
  new ConnectionConfig({ domain: `127.0.0.1:${lifecycle.port}`, apiKey: 'your-api-key', requestTimeoutSeconds: 20 })

test('Quick Start: create, run a command, kill, close', async () => {
  const sandbox = await Sandbox.create({ connectionConfig: config(), image: 'ubuntu', timeoutSeconds: 10 * 60 })
  // create waited for execd's /ping with the endpoint's headers before returning.
  expect(calls).toEqual([
    'POST /v1/sandboxes',
    'GET /v1/sandboxes/sbx-1/endpoints/44772',
    'GET /v1/sandboxes/sbx-1/endpoints/18080',
  ])
  const execution = await sandbox.commands.run("echo 'Hello Sandbox!'")
  expect(execution.logs.stdout[0]?.text).toBe('Hello Sandbox!')
  expect(await sandbox.isHealthy()).toBe(true)
  const metrics = await sandbox.getMetrics()
  expect(metrics.cpuCount).toBeGreaterThan(0)
  expect(metrics.memoryTotalMiB).toBeGreaterThan(0)
  await sandbox.kill()
  await sandbox.close()
  expect(calls.at(-1)).toBe('DELETE /v1/sandboxes/sbx-1')
})

test('Command Execution & Streaming: the handlers see each line, then the time taken', async () => {
  const sandbox = await Sandbox.connect({ sandboxId: 'sbx-1', connectionConfig: config() })
  const seen: string[] = []
  const handlers: ExecutionHandlers = {
    onStdout: m => void seen.push(`STDOUT: ${m.text}`),
    onStderr: m => void seen.push(`STDERR: ${m.text}`),
    onExecutionComplete: c => void seen.push(`Finished in ${typeof c.executionTimeMs} ms`),
  }
  await sandbox.commands.run('for i in 1 2 3; do echo "Count $i"; sleep 0.2; done', undefined, handlers)
  expect(seen).toEqual(['STDOUT: Count 1', 'STDOUT: Count 2', 'STDOUT: Count 3', 'Finished in number ms'])
  await sandbox.close()
})

test('Comprehensive File Operations: mkdir, write, read, search, delete', async () => {
  const sandbox = await Sandbox.connect({ sandboxId: 'sbx-1', connectionConfig: config() })
  const at = join(demo, 'demo')
  await sandbox.files.createDirectories([{ path: at, mode: 755 }])
  await sandbox.files.writeFiles([{ path: `${at}/hello.txt`, data: 'Hello World', mode: 644 }])
  const content = await sandbox.files.readFile(`${at}/hello.txt`)
  expect(content).toBe('Hello World')
  const files = await sandbox.files.search({ path: at, pattern: '*.txt' })
  expect(files.map(f => f.path)).toEqual([`${at}/hello.txt`])
  await sandbox.files.deleteDirectories([at])
  expect(await sandbox.files.search({ path: demo, pattern: '*.txt' })).toEqual([])
  await sandbox.close()
})

test("the Quick Start's catch: a SandboxException's code and message are execd's", async () => {
  const sandbox = await Sandbox.connect({ sandboxId: 'sbx-1', connectionConfig: config() })
  const err = await sandbox.files.getFileInfo([join(demo, 'nope')]).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(SandboxException)
  const e = err as SandboxException
  expect(`Sandbox Error: [${e.error.code}] ${e.error.message ?? ''}`).toStartWith(
    'Sandbox Error: [FILE_NOT_FOUND] file not found. ',
  )
  await sandbox.close()
})
