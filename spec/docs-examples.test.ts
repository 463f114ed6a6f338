/**
 * The README's client examples run as written: the terminal client (docs/terminal.ts, Bun
 * only) and the official SDK pointed at a bare daemon.
 */
import { describe, expect, test } from 'bun:test'
import { ConnectionConfig, DefaultAdapterFactory } from '@alibaba-group/opensandbox'
import { join } from 'node:path'
import { daemonAlone } from './kit/daemon-dir'

const ROOT = join(import.meta.dir, '..')

describe('README examples', () => {
  const fx = daemonAlone()

  test('docs/terminal.ts runs a shell on a terminal and exits with its status', async () => {
    const proc = Bun.spawn([process.execPath, join(ROOT, 'docs/terminal.ts'), fx.d.url], {
      stdin: new TextEncoder().encode('echo "tty:$(tty >/dev/null && echo yes)"; exit 3\n'),
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, EXECD_ACCESS_TOKEN: fx.d.token },
    })
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    expect(err).toBe('')
    expect(out).toContain('tty:yes')
    expect(code).toBe(3)
  })

  test('the official SDK against a bare daemon, as the README shows it', async () => {
    // The README's snippet, with the test daemon's URL and token.
    const url = fx.d.url
    const token = fx.d.token
    const connectionConfig = new ConnectionConfig({ domain: url, apiKey: '' }).withTransportIfMissing()
    const { commands } = new DefaultAdapterFactory().createExecdStack({
      connectionConfig,
      execdBaseUrl: url,
      endpointHeaders: { 'X-EXECD-ACCESS-TOKEN': token },
    })
    const execution = await commands.run('echo hello from the SDK')
    expect(execution.logs.stdout.map(m => m.text).join('')).toContain('hello from the SDK')
  })
})
