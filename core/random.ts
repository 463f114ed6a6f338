/**
 * Random names and markers (temp files, owner markers, output nonces). From Web Crypto, not
 * node:crypto's randomBytes: that module, and the node streams it loads, would cost every start
 * several ms and MiB (see the build notes in the Makefile).
 */
export const randomHex = (bytes: number): string =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
