/**
 * Frees a stream chunk's memory now instead of at the next collection. Pipes and request
 * bodies deliver hundreds of MiB/s in chunks of 64–200 KiB; left to the collector they are
 * freed in bulk, Bun's allocator hands the pages back to the kernel, and every later chunk is
 * faulted in afresh (with TLB shootdowns across execd's threads): that churn, not the
 * JavaScript, was most of a command output flood's CPU and half of an upload's. Freed at once,
 * the next chunk reuses the same warm memory. Only a chunk that owns its whole buffer is freed
 * (a view into a shared one is left to the collector); the caller guarantees that nothing
 * views it any more.
 */
export function freeChunk(chunk: Uint8Array): void {
  const buffer = chunk.buffer
  if (chunk.byteOffset !== 0 || chunk.byteLength !== buffer.byteLength || !(buffer instanceof ArrayBuffer)) return
  buffer.transfer(0)
}
