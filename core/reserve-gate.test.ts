import { afterAll, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CODE, gateElf } from './reserve-gate'

const dir = mkdtempSync(join(tmpdir(), 'gate-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Each gate, with how to run it here: natively, or through qemu-user where that is installed. */
const runners = Object.entries(CODE).map(([arch, code]) => {
  const path = join(dir, `enter-${arch}`)
  writeFileSync(path, gateElf(code!.machine, Buffer.from(code!.text, 'base64')))
  chmodSync(path, 0o755)
  const qemu = arch === 'arm64' ? 'qemu-aarch64-static' : 'qemu-x86_64-static'
  const via = arch === process.arch ? [] : Bun.which(qemu) ? [qemu] : undefined
  return { arch, argv: via && [...via, path] }
})

// Python hands the gate a socket and an environment of raw bytes, which Bun.spawn cannot give.
const python = Bun.which('python3')
const GATED = `
import os, socket, subprocess, sys, time
a, b = socket.socketpair()
env = {b'NOT_UTF8': b'\\xff\\xfe=\\n', b'a.b': b'c', b'BASH_FUNC_f%%': b'() { echo f; }', b'OPTIND': b'bad', b'PATH': b'/usr/bin:/bin'}
p = subprocess.Popen(sys.argv[1:] + [str(b.fileno()), '/bin/bash', 'argv0', '-c',
    '[ -e /proc/$$/fd/%d ] && echo gate open || echo gate closed; echo "$0"; cat /proc/$$/environ; :' % b.fileno()],
    pass_fds=[b.fileno()], stdout=subprocess.PIPE, env=env)
b.close()
time.sleep(0.3)
ran = p.poll() is None and os.path.exists('/proc/%d' % p.pid) and open('/proc/%d/cmdline' % p.pid, 'rb').read()
a.close()
out = p.communicate()[0]
sys.stdout.write(repr((ran, out)))
`

for (const { arch, argv } of runners) {
  test.skipIf(!argv || !python)(
    `the ${arch} gate: the probe, the wait, then the program with argv[0] and environment untouched`,
    () => {
      expect(Bun.spawnSync(argv!).exitCode).toBe(0)
      const run = Bun.spawnSync(['python3', '-c', GATED, ...argv!])
      const text = run.stdout.toString()
      // Still the gate while the socket's other end is open (its own command line, no environment).
      expect(text).toContain(`enter-${arch}\\x00`)
      expect(text).toContain('/bin/bash\\x00argv0\\x00-c')
      // Then the program: the gate's fd closed, its argv[0], the environment byte for byte.
      expect(text).toContain('gate closed\\nargv0\\n')
      // (qemu-user hands the environment on in reverse order, so each entry on its own.)
      for (const entry of ['NOT_UTF8=\\xff\\xfe=\\n', 'a.b=c', 'BASH_FUNC_f%%=() { echo f; }', 'OPTIND=bad'])
        expect(text).toContain(`${entry}\\x00`)
      expect(
        Bun.spawnSync([...argv!, '3', '/nonexistent', 'x'], { stdio: ['ignore', 'ignore', 'ignore'] }).exitCode,
      ).toBe(127)
    },
  )
}
