/**
 * `FsOps` over a running daemon (remote mode of `execd fs`): each operation is the files route
 * the wire contract gives it; a listing or search of a large tree is asked a directory at a
 * time (remote-walk.ts).
 */
import { FileInfoMapSchema, FileInfoSchema, ReplaceCountsSchema } from '../plugins/files/contract'
import type { FsOps, Permission, ReadRequest } from './fs-ops'
import { endOf, entriesOf, named, queryOf } from './path-fields'
import { lostConnection, type Remote } from './remote'
import { RUN_SILENCE_MS, saidWhenSilent, seconds } from './daemon-quiet'
import { listByDirectory, searchByDirectory, type Where } from './remote-walk'

/** One metadata part and one file part, streamed: the file is never held in memory. */
function multipart(meta: object, source: AsyncIterable<Uint8Array>): { body: ReadableStream; type: string } {
  const boundary = `execd-${crypto.randomUUID()}`
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n` +
    `Content-Type: application/json\r\n\r\n${JSON.stringify(meta)}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\n` +
    `Content-Type: application/octet-stream\r\n\r\n`
  const tail = `\r\n--${boundary}--\r\n`
  const encoder = new TextEncoder()
  const iterator = source[Symbol.asyncIterator]()
  let stage = 0
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (stage === 0) {
        stage = 1
        return controller.enqueue(encoder.encode(head))
      }
      if (stage === 1) {
        const next = await iterator.next()
        if (!next.done) return controller.enqueue(next.value)
        stage = 2
        controller.enqueue(encoder.encode(tail))
        return controller.close()
      }
    },
    async cancel() {
      await iterator.return?.()
    },
  })
  return { body, type: `multipart/form-data; boundary=${boundary}` }
}

/**
 * A download's answer, its connection lost midway (the daemon killed) said in a person's words:
 * it was Bun's, `execd: http://host/files/download?path=…: error ECONNRESET`. A download that
 * stops moving (the daemon stopped, the network gone) is said once per stall unless a progress
 * line draws it (`stallDrawn`): into a pipe or a log, `fs get --url` sat silent for as long as it
 * lasted. A transfer has no pings: the line says no bytes came, not that the daemon is gone.
 */
function lostSaid(res: Response, remote: Remote, stallDrawn: boolean): Response {
  const ms = stallDrawn ? 0 : (remote.silenceMs ?? RUN_SILENCE_MS)
  const say = () =>
    process.stderr.write(`execd: no bytes from ${remote.base} for ${seconds(ms)} during the download; still waiting\n`)
  const chunks = saidWhenSilent(res.body as unknown as AsyncIterable<Uint8Array>, ms, say)[Symbol.asyncIterator]()
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next()
        if (next.done) controller.close()
        else controller.enqueue(next.value)
      } catch (err) {
        controller.error(lostConnection(err, remote.base, 'during the download'))
      }
    },
    cancel: async () => void (await chunks.return(undefined)),
  })
  return new Response(body, { status: res.status, headers: res.headers })
}

/** `FsOps` over the files routes of a running daemon. */
export function remoteFs(remote: Remote): FsOps {
  const empty = remote.empty.bind(remote)
  // A signal (Ctrl-C, SIGTERM) ends the request in flight: a subtree's search may walk for 30 s.
  const lister = (signal?: AbortSignal) => (where: Where, depth: number) =>
    remote.items('GET', '/directories/list', FileInfoSchema, { query: { ...where, depth: String(depth) }, signal })
  const searcher = (signal?: AbortSignal) => (where: Where, pattern: string) =>
    remote.items('GET', '/files/search', FileInfoSchema, { query: { ...where, pattern }, signal })
  return {
    list: (path, depth, signal) => listByDirectory(lister(signal), path, depth),
    stat: (paths, opts) =>
      remote.json('GET', '/files/info', FileInfoMapSchema, {
        query: opts?.omitMissing ? [...queryOf(paths), ['missing', 'omit']] : queryOf(paths),
      }),
    read: async (req: ReadRequest) =>
      lostSaid(
        await remote.call('GET', '/files/download', {
          query: { ...named(req.path), offset: req.offset, limit: req.limit },
          headers: req.range ? { range: req.range } : {},
        }),
        remote,
        req.stallDrawn === true,
      ),
    async write(path: string, perm: Permission, source: AsyncIterable<Uint8Array>) {
      let bytes = 0
      const counted = (async function* () {
        for await (const chunk of source) {
          bytes += chunk.byteLength
          yield chunk
        }
      })()
      const { body, type } = multipart({ ...named(path), ...perm }, counted)
      await remote.empty('POST', '/files/upload', {
        body,
        headers: { 'content-type': type },
        doing: () => (bytes > 0 ? 'during the upload' : undefined),
      })
      return { path: String(path), bytes }
    },
    remove: paths => empty('DELETE', '/files', { query: queryOf(paths) }),
    removeDirectories: paths => empty('DELETE', '/directories', { query: queryOf(paths) }),
    move: (src, dest, signal) =>
      empty('POST', '/files/mv', { json: [{ ...endOf('src', src), ...endOf('dest', dest) }], signal }),
    mkdir: (paths, perm) => empty('POST', '/directories', { json: entriesOf(paths, perm) }),
    chmod: (paths, perm) => empty('POST', '/files/permissions', { json: entriesOf(paths, perm) }),
    search: (dir, pattern, signal) => searchByDirectory(lister(signal), searcher(signal), dir, pattern),
    async replace(path, old, replacement, signal) {
      const counts = await remote.json('POST', '/files/replace', ReplaceCountsSchema, {
        query: { verbose: 'true' },
        json: entriesOf([path], { old, new: replacement }),
        signal,
      })
      return counts[String(path)]?.replacedCount ?? 0
    },
    close: async () => {},
  }
}
