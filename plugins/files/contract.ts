/**
 * What the files section offers outside its folder. To other sections: its routes over another
 * root, and the settings it opened them with (the isolated section serves
 * `/v1/isolated/session/{id}/files/...` with them, anchored at what a session sees, instead of a
 * second copy of the HTTP adapter; the race-free walk, the path scope and the staging both build
 * on are core/beneath/). To `execd fs`: the operations the routes call, the checks it makes of
 * what was typed before a daemon is asked, and the wire models of the answers it reads back.
 * Nothing else imports this folder (core/layout.test.ts checks both).
 */
export { FILES_SETTINGS, type FilesSettings } from './settings'
// The routes (with Elysia and the schemas) are loaded by whoever mounts them, not with the
// operations: `(await filesRoutesModule()).filesRoutes`.
export const filesRoutesModule = () => import('./routes')

export type { FileInfo } from './fileinfo'
export { downloadFile, lineWindow } from './ops/download'
export { missingPath, statFiles } from './ops/info'
export { listingBatches, parseDepth } from './ops/list'
export { makeDirectories } from './ops/mkdir'
export { moveFiles } from './ops/move'
export { setPermissions, type Permission } from './ops/permissions'
export { deleteFiles, removeDirectories } from './ops/remove'
export { replaceInFiles } from './ops/replace'
export { compileGlob, searchBatches } from './ops/search'
export { writeFile } from './ops/upload'
export { WALK_LIMITS } from './ops/walk'
export { FileInfoMapSchema, FileInfoSchema, ReplaceCountsSchema } from './schema'
