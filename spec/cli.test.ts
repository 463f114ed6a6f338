import { describe, expect, test } from 'bun:test'
import { BIN, runCliSync } from './harness'

const run = (args: string[]) => runCliSync(args)

describe('execd CLI', () => {
  test('--version prints the version and the git commit', () => {
    const r = run(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/\d+\.\d+\.\d+ \(commit [0-9a-f]{4,}\)/)
  })

  test('--help lists the verbs', () => {
    const r = run(['--help'])
    expect(r.code).toBe(0)
    for (const verb of ['serve', 'exec', 'fs', 'metrics']) expect(r.stdout).toContain(verb)
  })

  test('serve --help lists the reference flags and their env variables', () => {
    const r = run(['serve', '--help'])
    for (const flag of [
      '--port',
      '--access-token',
      'EXECD_ACCESS_TOKEN',
      '--jupyter-host',
      'JUPYTER_HOST',
      '--jupyter-token',
      '--log-level',
    ]) {
      expect(r.stdout).toContain(flag)
    }
  })

  test('an unknown subcommand is refused with exit 2', () => {
    const r = run(['frobnicate'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("unknown command 'frobnicate'")
  })

  test('an unknown option is a usage error with exit 2', () => {
    const r = run(['metrics', '--frob'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--frob')
  })

  test('a bad option value is a clear error, not a crash', () => {
    const r = run(['serve', '--port', 'abc'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('--port')
  })

  test('metrics --json prints the five fields the HTTP API serves', () => {
    const r = run(['metrics', '--json'])
    expect(r.code).toBe(0)
    const m = JSON.parse(r.stdout)
    expect(Object.keys(m).sort()).toEqual(['cpu_count', 'cpu_used_pct', 'mem_total_mib', 'mem_used_mib', 'timestamp'])
    expect(m.mem_total_mib).toBeGreaterThan(0)
  })

  test('metrics prints a human-readable summary by default', () => {
    const r = run(['metrics'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/cpu\s+[\d.]+% of \d/)
    expect(r.stdout).toMatch(/memory\s+[\d.]+ MiB of [\d.]+ MiB/)
  })

  test('metrics --watch streams samples until interrupted', async () => {
    const p = Bun.spawn([BIN, 'metrics', '--watch', '--json'], { stdout: 'pipe' })
    await Bun.sleep(1600)
    p.kill('SIGINT')
    expect(await p.exited).toBe(0)
    const lines = (await new Response(p.stdout).text()).trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(2)
    for (const l of lines) expect(JSON.parse(l).cpu_count).toBeGreaterThan(0)
  })
})

test('the README documents every option serve accepts', async () => {
  const { allOptions } = await import('../cmd/options')
  const readme = await Bun.file(new URL('../README.md', import.meta.url)).text()
  const missing = allOptions.filter(o => !readme.includes(`\`--${o.flag}\``)).map(o => o.flag)
  expect(missing).toEqual([])
})
