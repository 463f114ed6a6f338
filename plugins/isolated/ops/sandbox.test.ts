import { expect, test } from 'bun:test'
import { sandboxArgv, type SandboxSpec } from './sandbox'
import { hasBindFd } from './probe'
import { noSetIdFilter } from './seccomp'

const base: SandboxSpec = {
  bwrap: '/usr/bin/bwrap',
  setpriv: '/usr/bin/setpriv',
  profile: 'strict',
  workspace: '/work/ws',
  mode: 'rw',
  extraWritable: [],
  binds: [],
  shareNet: false,
  uidMode: 'setpriv',
  codeDir: '/tmp/execd-isolated-1-x/id/bash',
}

/** The value after each occurrence of `flag`. */
const after = (argv: string[], flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []))

test('bwrap ignores SIGINT and bash gets it back, so an interrupt stops a run, not the sandbox', () => {
  const argv = sandboxArgv(base)
  expect(argv.slice(0, 3)).toEqual(['env', '--ignore-signal=INT', '/usr/bin/bwrap'])
  expect(argv.slice(-5)).toEqual(['env', '--default-signal=INT', 'bash', '--noprofile', '--norc'])
})

test('strict: new namespaces, no network, system dirs read-only, the workspace bound at its path', () => {
  const argv = sandboxArgv(base)
  for (const f of ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--die-with-parent']) {
    expect(argv).toContain(f)
  }
  expect(after(argv, '--ro-bind')).not.toContain('/')
  expect(after(argv, '--bind')).toEqual(['/work/ws'])
  expect(after(argv, '--chdir')).toEqual(['/work/ws'])
  expect(after(argv, '--tmpfs')).toEqual(['/dev/shm', '/tmp'])
  // 1777, as /tmp is anywhere: a uid-switched shell makes its temp files there.
  expect(argv[argv.indexOf('--tmpfs') - 1]).toBe('1777')
})

test('balanced reads all of /; share_net keeps the network; ro binds the workspace read-only', () => {
  const argv = sandboxArgv({ ...base, profile: 'balanced', shareNet: true, mode: 'ro' })
  expect(after(argv, '--ro-bind')[0]).toBe('/')
  expect(argv).not.toContain('--unshare-net')
  expect(after(argv, '--ro-bind')).toContain('/work/ws')
  expect(after(argv, '--bind')).toEqual([])
})

test('binds, extra_writable and the run file dir are mounted, parents made reachable', () => {
  const argv = sandboxArgv({
    ...base,
    extraWritable: ['/data/out'],
    binds: [{ source: '/srv/in', dest: '/mnt/in', readonly: true }],
  })
  expect(after(argv, '--bind')).toEqual(['/work/ws', '/data/out'])
  expect(after(argv, '--ro-bind')).toContain('/srv/in')
  expect(after(argv, '--dir')).toEqual(expect.arrayContaining(['/work', '/data', '/mnt', '/tmp/execd-isolated-1-x']))
  expect(after(argv, '--dir')).not.toContain('/tmp')
})

test('uid: setpriv switches for real; userns maps it in a user namespace', () => {
  const setpriv = sandboxArgv({ ...base, uid: 65534, gid: 100 })
  expect(setpriv).toEqual(expect.arrayContaining(['--reuid', '65534', '--regid', '100', '--clear-groups']))
  expect(setpriv).not.toContain('--unshare-user')
  const userns = sandboxArgv({ ...base, uid: 65534, gid: 100, uidMode: 'userns' })
  expect(after(userns, '--uid')).toEqual(['65534'])
  expect(after(userns, '--gid')).toEqual(['100'])
  expect(userns).toContain('--disable-userns')
  expect(after(userns, '--cap-drop')).toEqual(['ALL'])
})

test('overlay: the real workspace read-only below, the layers bound for the mount, then setpriv drops every capability', () => {
  const argv = sandboxArgv({ ...base, mode: 'overlay', overlayDir: '/tmp/execd-isolated-1-x/id/ovl' })
  expect(after(argv, '--ro-bind')).toContain('/work/ws')
  expect(after(argv, '--bind')).toEqual(['/tmp/execd-isolated-1-x/id/ovl'])
  expect(after(argv, '--cap-add')).toEqual(['CAP_SYS_ADMIN'])
  const sh = argv.indexOf('sh')
  expect(argv.slice(sh + 3, sh + 5)).toEqual(['sh', '/work/ws'])
  expect(argv).toEqual(expect.arrayContaining(['--bounding-set=-all', '--inh-caps=-all']))
})

test('a hidden file is covered with /dev/null wherever the sandbox shows it, and nowhere else', () => {
  const pairs = (argv: string[]) =>
    argv.flatMap((a, i) => (a === '/dev/null' && argv[i - 1] === '--ro-bind' ? [argv[i + 1]] : []))
  const binds = [{ source: '/run/secrets', dest: '/s', readonly: true }]
  expect(pairs(sandboxArgv({ ...base, hidden: ['/etc/execd/token', '/run/other/token'] }))).toEqual([
    '/etc/execd/token',
  ])
  expect(pairs(sandboxArgv({ ...base, binds, hidden: ['/run/secrets/token'] }))).toEqual(['/s/token'])
  expect(pairs(sandboxArgv({ ...base, profile: 'balanced', hidden: ['/run/t', '/tmp/t'] }))).toEqual(['/run/t'])
  expect(pairs(sandboxArgv({ ...base, hidden: ['/work/ws/t'] }))).toEqual(['/work/ws/t'])
})

test('with a seccomp filter, sh opens it as fd 9 and becomes bwrap, which loads it', () => {
  const argv = sandboxArgv({ ...base, seccompFile: '/s/seccomp.bpf' })
  expect(argv.slice(0, 4)).toEqual(['sh', '-c', 'exec 9<"$1" || exit 126; shift; exec "$@"', 'sh'])
  expect(argv.slice(4, 8)).toEqual(['/s/seccomp.bpf', 'env', '--ignore-signal=INT', '/usr/bin/bwrap'])
  expect(after(argv, '--seccomp')).toEqual(['9'])
})

test('the seccomp filter is whole instructions for x64 and arm64, and none elsewhere', () => {
  for (const arch of ['x64', 'arm64'] as const) expect(noSetIdFilter(arch)!.length % 8).toBe(0)
  expect(noSetIdFilter('ia32')).toBeUndefined()
})

test('held dirs are opened by sh and bound by descriptor, never by their names', () => {
  const heldAt = { code: '/proc/1/fd/5/bash', overlay: '/proc/1/fd/5/ovl' }
  const argv = sandboxArgv({ ...base, mode: 'overlay', overlayDir: '/t/id/ovl', seccompFile: '/s/f', heldAt })
  expect(argv.slice(0, 7)).toEqual([
    'sh',
    '-c',
    'exec 9<"$1" 7<"$2" 8<"$3" || exit 126; shift 3; exec "$@"',
    'sh',
    '/s/f',
    '/proc/1/fd/5/bash',
    '/proc/1/fd/5/ovl',
  ])
  expect(after(argv, '--ro-bind-fd')).toEqual(['7'])
  expect(argv[argv.indexOf('--ro-bind-fd') + 2]).toBe(base.codeDir)
  expect(after(argv, '--bind-fd')).toEqual(['8'])
  expect(argv).not.toContain('/t/id/ovl')
})

test('bwrap binds a descriptor from 0.8.0 on', () => {
  expect(['0.6.1', '0.7.0', '0.8.0', '0.10.0', '1.0', undefined, 'x'].map(hasBindFd)).toEqual([
    false,
    false,
    true,
    true,
    true,
    false,
    false,
  ])
})
