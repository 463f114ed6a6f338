/**
 * What the files section offers outside its folder. To other sections: its routes over another
 * root, and its opened operations (the isolated section serves
 * `/v1/isolated/session/{id}/files/...` with them over what a session sees, anchored there,
 * instead of a second copy of the HTTP adapter; the race-free walk, the path scope and the
 * staging both build on are core/beneath/). To `execd fs`: the opened section's `ops` it calls
 * (the operations of a scope are bound there, never by a caller), the checks it makes of what
 * was typed before a daemon is asked, and the wire models of the answers it reads back. Nothing
 * else imports this folder (core/layout.test.ts checks both).
 */
export { FILES_OPS, type FilesOps } from './files-ops'
// The routes (with Elysia and the schemas) are loaded by whoever mounts them, not with the
// operations: `(await filesRoutesModule()).filesRoutes`.
export const filesRoutesModule = () => import('./routes')

export type { FileInfo } from './fileinfo'
export { lineWindow } from './ops/download'
export { missingPath } from './ops/info'
export { parseDepth } from './ops/list'
export { type Permission } from './ops/permissions'
export { compileGlob } from './ops/search'
export { WALK_LIMITS } from './ops/walk'
export { FileInfoMapSchema, FileInfoSchema, ReplaceCountsSchema } from './schema'
