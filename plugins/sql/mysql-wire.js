// MySQL's and MariaDB's answers bounded on the wire: a module of the sql driver (driver.js),
// written beside it for the child, embedded in execd as text. Bun's MySQL client holds a whole
// result (no cursor, no row stream), and what the server's select limit does not bound (an
// `INSERT … RETURNING`, a `CALL`, `SHOW`) it read whole: 2 million rows returned took this
// process to 338 MiB. So the client talks to the server through a relay on loopback in this
// process, which reads the server's packets as they come and drops a result's rows past what
// one result carries, telling the driver it did (`cut`): the server still sends them, this
// process holds one packet's head at a time. The relay passes anything it cannot read through
// as it is: after a TLS request, or under compression.

import { MAX_RESULT_CHARS } from './cells.js'

/**
 * Rows of a result the relay passes once their weight (a row's bytes on the wire less 40 a
 * column, for its length prefix and a number's or date's text, which the driver counts as 8) is
 * over this: the driver counts a value at least a third of its weight (utf-8 is at most 3 bytes
 * a character, a blob counts twice), so it has cut the result by then and shows what it did.
 */
const WIRE_BUDGET = 3 * MAX_RESULT_CHARS
const PER_VALUE = 40

// Capability flags (the client's handshake response), commands, packet heads.
const CLIENT_COMPRESS = 0x20
const CLIENT_SSL = 0x800
const CLIENT_DEPRECATE_EOF = 0x1000000
const MARIADB_CACHE_METADATA = 0x10
const COM_QUERY = 0x03
const COM_STMT_EXECUTE = 0x17
const MORE_RESULTS = 0x08
const MAX_PACKET = 0xffffff
/** Bytes of a packet's payload read before it is passed on: enough for any head we decide on. */
const PEEK = 32

/**
 * A relay to `host:port` on a loopback port of its own, for this process's client. `limit(rows)`
 * bounds each later result to that many rows (the row limit and one more); `cut` says whether a
 * result lost rows since `limit` was last called. Bun's own sockets, not node:net's streams: each
 * chunk reaches `data` as the loop reads it, with no stream between. Every statement crosses the
 * relay twice: a warm SELECT 1 cell took 0.23-0.41 ms more through node:net's than on the build
 * before it, 0.09-0.26 through this one (the hop itself, loopback TCP in and out of one process,
 * costs a query what a relay that parses nothing does).
 */
export async function wireRelay(host, port) {
  // `cuts`: which results of the last command (counted from 0, a status as one) lost rows.
  const state = { rows: Infinity, cut: false, cuts: new Set() }
  const listener = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open: client => relay(client, host, port, state),
      data: (client, chunk) => client.data.read(chunk),
      drain: client => client.data.drained(),
      close: client => client.data.closed(),
      error: () => {},
    },
  })
  // Not a reason for the process to stay.
  listener.unref()
  return {
    port: listener.port,
    limit(rows) {
      state.rows = rows
      state.cut = false
      state.cuts.clear()
    },
    get cut() {
      return state.cut
    },
    cutIn(result) {
      return state.cuts.has(result)
    },
  }
}

/** One client's line to the server; its chunks before the server's end opens wait, the client paused. */
function relay(client, host, port, state) {
  client.setNoDelay(true)
  const session = { eof: true, metadata: false, plain: true }
  const toServer = clientPackets(session)
  const toClient = serverPackets(session, state)
  toServer.command = toClient.command
  const up = direction(client, toServer)
  client.pause()
  // Each socket's events: its chunks go one way, its drain lets the other way on.
  client.data = { read: up.read, closed: up.closed, drained: () => {} }
  // Unreached, the client is told why as the server would, not only that the line closed.
  Bun.connect({
    hostname: host,
    port,
    socket: {
      open: upstream => {
        upstream.setNoDelay(true)
        const down = direction(upstream, toClient)
        down.target = client
        up.target = upstream
        upstream.data = { read: down.read, closed: down.closed, drained: up.drained }
        client.data.drained = down.drained
        up.drained()
      },
      data: (upstream, chunk) => upstream.data.read(chunk),
      drain: upstream => upstream.data.drained(),
      close: upstream => upstream.data?.closed(),
      connectError: (_, e) => client.end(refusal(`cannot reach ${host}:${port}: ${e.code ?? 'error'} ${e.message}`)),
      error: () => {},
    },
  }).catch(() => {})
}

/**
 * One way: what `source` reads, through `packets` (a function of a chunk to what goes on),
 * written to `target`; what the target does not take at once is kept (copied: the chunk is
 * Bun's) and the source paused until the target drains, so at most a chunk's worth is held; when
 * the source closes, the target is ended after what is kept.
 */
function direction(source, packets) {
  let waiting = []
  let closing = false
  const self = {
    target: undefined,
    read(chunk) {
      for (const piece of packets(chunk)) waiting.push(piece)
      if (self.target && flush()) return
      waiting = waiting.map(piece => (piece.buffer === chunk.buffer ? Buffer.from(piece) : piece))
      source.pause()
    },
    /** The target drained (or opened): what is kept goes on, and the source reads again. */
    drained() {
      if (!self.target || !flush()) return
      if (closing) self.target.end()
      else source.resume()
    },
    closed() {
      closing = true
      if (waiting.length === 0) self.target?.end()
    },
  }
  const flush = () => {
    while (waiting.length > 0) {
      const n = self.target.write(waiting[0])
      if (n < waiting[0].length) {
        waiting[0] = waiting[0].subarray(Math.max(n, 0))
        return false
      }
      waiting.shift()
    }
    return true
  }
  return self
}

/** An ERR packet as a server sends it before its greeting (errno 2003, as a client says it). */
function refusal(message) {
  const text = Buffer.from(message.slice(0, 400))
  const packet = Buffer.alloc(7 + text.length)
  packet.writeUIntLE(3 + text.length, 0, 3)
  packet[4] = 0xff
  packet.writeUInt16LE(2003, 5)
  text.copy(packet, 7)
  return packet
}

/**
 * A packet stream cut into packets: `head(payload's first bytes, length, seq)` says for each
 * whether it goes on and under which sequence id (undefined: dropped); its payload then passes
 * or not as it comes, never held. What passes goes on as runs of the chunk it came in, the
 * sequence id written in place. Once `session.plain` is false, everything passes as it is.
 */
function packetStream(session, head) {
  let rest = EMPTY
  let left = 0
  let pass = true
  return chunk => {
    const out = []
    const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk
    // Bytes before `at` are decided; of them, those from `from` pass.
    let at = 0
    let from = 0
    const skip = n => {
      if (at > from) out.push(buf.subarray(from, at))
      at += n
      from = at
    }
    while (at < buf.length) {
      if (!session.plain) {
        at = buf.length
      } else if (left > 0) {
        const n = Math.min(left, buf.length - at)
        left -= n
        if (pass) at += n
        else skip(n)
      } else {
        if (buf.length - at < 4) break
        const length = buf.readUIntLE(at, 3)
        const peek = Math.min(length, PEEK)
        if (buf.length - at - 4 < peek) break
        const seq = head(buf.subarray(at + 4, at + 4 + peek), length, buf[at + 3])
        pass = seq !== undefined
        left = length
        if (pass) {
          buf[at + 3] = seq
          at += 4
        } else {
          skip(4)
        }
      }
    }
    if (at > from) out.push(buf.subarray(from, at))
    rest = at < buf.length ? Buffer.from(buf.subarray(at)) : EMPTY
    return out
  }
}
const EMPTY = Buffer.alloc(0)

/**
 * The client's side: its handshake response's capabilities (TLS or compression: from then on
 * nothing is read), and each command's first byte, which says how its answer is read.
 */
function clientPackets(session) {
  let handshake = true
  let continued = false
  const packets = packetStream(session, (payload, length, seq) => {
    const first = !continued
    continued = length === MAX_PACKET
    if (handshake && seq === 1 && first && payload.length >= 4) {
      handshake = false
      const caps = payload.readUInt32LE(0)
      session.eof = (caps & CLIENT_DEPRECATE_EOF) === 0
      session.plain = (caps & (CLIENT_SSL | CLIENT_COMPRESS)) === 0
      // MariaDB's extended capabilities, in the last 4 of the 23 filler bytes.
      session.metadata = payload.length >= 32 && (payload.readUInt32LE(28) & MARIADB_CACHE_METADATA) !== 0
    } else if (seq === 0 && first) {
      packets.command?.(payload[0])
    }
    return seq
  })
  return packets
}

/**
 * The server's side: a query's (or a prepared statement's execution's) answer read as results
 * (a column count, the columns, maybe an EOF, rows, an EOF or OK whose status may say more
 * results follow); each result's rows past `state.rows` or the budget dropped, and the packets
 * after them numbered as if they had not been.
 */
function serverPackets(session, state) {
  // 'other': an answer passed as it is; 'first': a result's first packet; then 'columns',
  // 'eof' (the columns' end, without CLIENT_DEPRECATE_EOF), 'rows'.
  let phase = 'other'
  let columns = 0
  let count = 0
  let rows = 0
  let weight = 0
  let dropped = 0
  let continued = false
  let dropping = false
  // The command's result being read, from 0: a CALL's result sets, then its status.
  let result = -1
  const packets = packetStream(session, (payload, length, seq) => {
    const renumbered = (seq - dropped) & 0xff
    if (continued) {
      // The rest of a packet over 16 MiB: as its start went.
      continued = length === MAX_PACKET
      if (dropping) dropped++
      else weight += length
      return dropping ? undefined : renumbered
    }
    continued = length === MAX_PACKET
    dropping = false
    const first = payload[0]
    if (phase === 'first') {
      if (first !== 0xff && first !== 0xfb) result++
      if (first === 0x00) phase = moreResults(payload, true) ? 'first' : 'other'
      else if (first === 0xff) phase = 'other'
      else if (first !== 0xfb) {
        // 0xfb: LOCAL INFILE, answered by the client's file, then an OK read as a first packet.
        const [n, at] = lengthEncoded(payload, 0)
        count = n
        columns = n
        rows = 0
        weight = 0
        phase = session.metadata && payload[at] === 0 ? 'rows' : n > 0 ? 'columns' : 'rows'
      }
    } else if (phase === 'columns') {
      if (--columns === 0) phase = session.eof ? 'eof' : 'rows'
    } else if (phase === 'eof') {
      phase = 'rows'
    } else if (phase === 'rows') {
      if (first === 0xfe && length < (session.eof ? 9 : MAX_PACKET)) {
        phase = moreResults(payload, !session.eof) ? 'first' : 'other'
      } else if (first === 0xff) {
        phase = 'other'
      } else if (rows >= state.rows || weight > WIRE_BUDGET) {
        state.cut = true
        state.cuts.add(result)
        dropping = true
        dropped++
        return undefined
      } else {
        rows++
        weight += Math.max(0, length - PER_VALUE * count)
      }
    }
    return renumbered
  })
  packets.command = command => {
    phase = command === COM_QUERY || command === COM_STMT_EXECUTE ? 'first' : 'other'
    dropped = 0
    continued = false
    result = -1
  }
  return packets
}

/** Whether an OK packet (`ok`: affected rows and insert id first) or an EOF says another result follows. */
function moreResults(payload, ok) {
  let at = 1
  if (ok) {
    at = lengthEncoded(payload, at)[1]
    at = lengthEncoded(payload, at)[1]
  } else {
    at += 2
  }
  return at + 2 <= payload.length && (payload.readUInt16LE(at) & MORE_RESULTS) !== 0
}

/** A length-encoded integer at `at` (as a number: counts and lengths here fit) and where it ends. */
function lengthEncoded(payload, at) {
  const first = payload[at]
  if (first < 0xfb) return [first, at + 1]
  const size = first === 0xfc ? 2 : first === 0xfd ? 3 : 8
  if (at + 1 + size > payload.length) return [0, payload.length]
  const value = size === 8 ? Number(payload.readBigUInt64LE(at + 1)) : payload.readUIntLE(at + 1, size)
  return [value, at + 1 + size]
}
