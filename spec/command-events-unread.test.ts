/**
 * A watcher of a command's events (`GET /command/{id}/events`) that stops reading does not pace
 * the command (core/journal.ts): the journal drops what it has not read. What it dropped must
 * go too. A watcher stopped with its socket full kept its place in the journal, and every line
 * dropped after it stayed in memory: one unread watcher of a 100 MB flood grew execd by
 * hundreds of MiB, for as long as the command ran.
 */
import { expect, test } from 'bun:test'
import { connect } from 'node:net'
import { postJson, readSse, rssMiB, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone()

test('a watcher that never reads a flood holds execd to its journal’s bound', async () => {
  const [init] = await readSse(
    await postJson(fx.d, '/command', { command: 'yes flood-line | head -c 100000000', background: true }),
  )
  const id = init?.data.text as string
  const before = rssMiB(fx.d.proc.pid)
  // A raw socket never read: once the kernel's buffers are full, execd's writes to it wait.
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(fx.d.url).port) })
  await new Promise(r => socket.once('connect', r))
  socket.pause()
  socket.write(`GET /command/${id}/events HTTP/1.1\r\nHost: x\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n\r\n`)
  let peak = before
  // Until the flood is over: the whole 100 MB passed execd while the watcher read nothing.
  await waitFor(
    'the flood to end',
    async () => {
      peak = Math.max(peak, rssMiB(fx.d.proc.pid))
      return !(await (await fx.d.fetch(`/command/status/${id}`)).json()).running
    },
    120_000,
  )
  socket.destroy()
  // Old build: +500 MiB and more (1.2 GiB for 200 MB of output). The journal's bound is 1 MiB.
  expect(peak - before).toBeLessThan(100)
}, 150_000)
