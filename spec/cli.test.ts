import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { plugins } from '../plugins'
import { BIN, runCliSync, type CliOptions } from './harness'

/** User + system CPU time a process has used, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const run = (args: string[], opts: CliOptions = {}) => runCliSync(args, opts)

describe('execd CLI', () => {
  test('--version prints the version, the git commit, the target and the real Bun version', () => {
    for (const args of [['--version'], ['-v'], ['--version', '--json']]) {
      const r = run(args)
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/\d+\.\d+\.\d+ \(commit [0-9a-f]{4,}\) linux-(x64|arm64) bun\/\d+\.\d+\.\d+\n$/)
      // Under Bun, process.version is the Node version Bun is compatible with: never quoted.
      expect(r.stdout).not.toContain(process.version)
    }
  })

  test('--help lists the verbs', () => {
    const r = run(['--help'])
    expect(r.code).toBe(0)
    for (const verb of ['serve', 'exec', 'fs', 'metrics']) expect(r.stdout).toContain(verb)
  })

  test('serve --help names every API section serve opens, in the order it opens them', () => {
    const r = run(['serve', '--help'])
    // Wrapped at 80 columns: the words, whatever the rows.
    const words = r.stdout.replace(/\s+/g, ' ')
    expect(words).toContain(`Serve the HTTP API (${plugins.map(p => p.name).join(', ')})`)
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

  test('words a verb does not take are a usage error naming them, never dropped', () => {
    // The CLI fuzz: `exec --shell echo hi` ran `echo` and dropped `hi`; cac's 'Unused args:
    // \`b\`' was the message of the others.
    expect(run(['exec', '--shell', 'echo', 'hi'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "execd: --shell takes the whole command as one value: quote it (--shell 'echo hi'); unexpected 'hi'\n",
    })
    expect(run(['metrics', 'extra'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "execd: unexpected argument 'extra' (see execd metrics --help)\n",
    })
    expect(run(['fs', 'ls', 'a', '-', 'c']).stderr).toBe(
      "execd: unexpected arguments '-', 'c' (see execd fs ls --help)\n",
    )
  })

  test('a bad option value is a usage error (exit 2) in one plain line', () => {
    const r = run(['serve', '--port', 'abc'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe("execd: --port expects a whole number, got 'abc'\n")
  })

  test('a bad value from the environment of a section that opens after listening still ends the start', () => {
    // The sections' open() runs after listening for these; their settings are read before it.
    for (const [name, flag] of [
      ['EXECD_MAX_SESSIONS', 'max-sessions'],
      ['EXECD_MAX_COMMANDS', 'max-commands'],
      ['EXECD_MAX_PTYS', 'max-ptys'],
      ['EXECD_MAX_CONTEXTS', 'max-contexts'],
      ['EXECD_MAX_ISOLATED_SESSIONS', 'max-isolated-sessions'],
    ]) {
      const r = run(['serve', '--port', '0'], { env: { [name!]: 'many' } })
      // The usage exit, as the same value given as a flag has (it was 1 from the environment).
      expect(r.code, name).toBe(2)
      // The last line (the log may have said what it set up before): the error, in one line.
      expect(r.stderr.trimEnd().split('\n').at(-1), name).toBe(
        `execd: option --${flag} (${name}) must be a non-negative integer, got 'many'`,
      )
    }
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

  test('metrics --watch streams one sample per time, idle in between, until Ctrl-C (exit 130)', async () => {
    const p = Bun.spawn([BIN, 'metrics', '--watch', '--json'], { stdout: 'pipe' })
    const samples: { cpu_count: number; timestamp: number }[] = []
    let cpuAtFirst = 0
    const decoder = new TextDecoder()
    let text = ''
    const reader = p.stdout.getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      text += decoder.decode(value)
      const lines = text.split('\n')
      text = lines.pop()!
      for (const l of lines) {
        samples.push(JSON.parse(l))
        if (samples.length === 1) cpuAtFirst = cpuSeconds(p.pid)
      }
      if (samples.length >= 4) break
    }
    // Three sample intervals (3 s): a watcher that waits costs a few milliseconds of CPU, the
    // busy loop it once was spent a whole core.
    const spent = cpuSeconds(p.pid) - cpuAtFirst
    p.kill('SIGINT')
    expect(await p.exited).toBe(130)
    for (const s of samples) expect(s.cpu_count).toBeGreaterThan(0)
    const times = samples.map(s => s.timestamp)
    expect(times).toEqual([...new Set(times)].sort((a, b) => a - b))
    expect(spent).toBeLessThan(1)
  })
})

test('the README documents every option serve accepts', async () => {
  const { allOptions } = await import('../cmd/options')
  const readme = await Bun.file(new URL('../README.md', import.meta.url)).text()
  const missing = allOptions.filter(o => !readme.includes(`\`--${o.flag}\``)).map(o => o.flag)
  expect(missing).toEqual([])
})

describe('completion', () => {
  const complete = (line: string): string[] => {
    const script = runCliSync(['completion', 'bash']).stdout
    const words = line.split(' ')
    const probe = `${script}\nCOMP_WORDS=(${words.map(w => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _execd; printf '%s\\n' "\${COMPREPLY[@]}"`
    return Bun.spawnSync(['bash', '-c', probe]).stdout.toString().trim().split('\n').filter(Boolean).sort()
  }

  test('bash completes the verbs, the fs operations and a verb’s options', () => {
    expect(complete('execd m')).toEqual(['metrics'])
    expect(complete('execd fs r')).toEqual(['replace', 'rm', 'rmdir'])
    expect(complete('execd exec --ti')).toEqual(['--timeout'])
    expect(complete('execd exec --pyth')).toEqual(['--python', '--python-spare'])
  })

  test('bash completes an fs operation’s own options, not only those every operation takes', () => {
    expect(complete('execd fs ls --de')).toEqual(['--depth'])
    expect(complete('execd fs rm --rec')).toEqual(['--recursive'])
    expect(complete('execd fs get --ver')).toEqual(['--verbose'])
  })

  test('zsh and fish scripts are printed; another shell is a usage error', () => {
    expect(runCliSync(['completion', 'zsh']).stdout).toContain('bashcompinit')
    const fish = runCliSync(['completion', 'fish'])
    expect(fish.stdout).toContain('complete -c execd')
    expect(fish.stdout).toContain('replace')
    expect(runCliSync(['completion', 'tcsh'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "execd: no completion for 'tcsh': bash, zsh or fish\n",
    })
  })
})

describe('a bad value is named for what it is (sixteenth pass)', () => {
  test('a negative number is the option’s value, refused by its own words', () => {
    // It was "unknown option '-5'".
    expect(run(['exec', '--timeout', '-5', 'bash', 'true'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "execd: --timeout expects milliseconds from 1 to 31536000000 (0: no limit), got '-5'\n",
    })
    expect(run(['fs', 'ls', '-d', '-1', '.']).stderr).toBe("execd: --depth expects levels from 0 to 100000, got '-1'\n")
  })

  test('--env refuses what a command’s envs refuses over HTTP: a newline in a name', () => {
    // It ran, and the cell's `env` printed a variable B.
    expect(run(['exec', '--env', 'A\nB=1', 'bash', 'env'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'execd: --env: environment variable name contains a newline: "A\\nB"\n',
    })
    expect(run(['exec', '--env', 'A=x\ny=1', 'bash', 'echo "$A"'])).toEqual({ code: 0, stdout: 'x\ny=1\n', stderr: '' })
  })
})
