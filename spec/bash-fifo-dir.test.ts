/**
 * Where a bash code context's input FIFOs live: on /dev/shm, as a session's
 * (core/live-bash/fifo-dir.ts), in a private dir of the context's, gone with it. In TMPDIR (ext4
 * here) each cell's mkfifo, open and unlink, synchronous on the event loop, held it ~30 µs at the
 * median and 0.6-4 ms at p99; on /dev/shm ~12 µs and under 0.1 ms.
 */
import { expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { daemonAlone } from './kit/daemon-dir'
import { SHM, shmDirsOf, shmIsTmpfs } from './kit/shm'
import { createContext, ofType, runCode } from './runtime-kit'

const ownDirs = (pid: number) => shmDirsOf('execd-bash-fifos', pid)

const fx = daemonAlone()

test.skipIf(!shmIsTmpfs)(
  'a bash context reads its lines from a FIFO on /dev/shm, in a dir that goes with it',
  async () => {
    const id = await createContext(fx.d, 'bash')
    for (let i = 0; i < 3; i++) expect(ofType(await runCode(fx.d, ':', { id }), 'error')).toEqual([])
    const events = await runCode(fx.d, 'for f in /proc/$$/fd/*; do readlink "$f"; done', { id })
    const inputs = ofType(events, 'stdout')
      .map(e => e.text as string)
      .join('')
      .split('\n')
      .filter(l => l.includes('execd-bash-'))
    // Old build: `<TMPDIR>/execd-bash-<nonce>-in4 (deleted)`.
    expect(inputs).toHaveLength(1)
    expect(inputs[0]).toMatch(
      new RegExp(`^${SHM}/execd-bash-fifos-${fx.d.proc.pid}-[^/]+/execd-bash-\\w+-in\\d+ \\(deleted\\)$`),
    )
    // Between cells the dir holds its lock and no FIFO; deleting the context removes it.
    const [dir] = ownDirs(fx.d.proc.pid)
    expect(readdirSync(join(SHM, dir!))).toEqual(['.owner.sock'])
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(ownDirs(fx.d.proc.pid)).toEqual([])
  },
)
