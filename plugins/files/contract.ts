/**
 * What the files section offers other sections: the same operations and routes over another
 * root. The isolated section serves `/v1/isolated/session/{id}/files/...` with them, anchored at
 * what a session sees, instead of a second copy of the race-free walk and the HTTP adapter.
 * Another section imports this file only (core/layout.test.ts checks it).
 */
export {
  Anchor,
  OutsideRoot,
  PathChanged,
  openDirectory,
  openExact,
  procPath,
  reopenDirectory,
  walkBeneath,
  type HeldRoot,
  type WalkOptions,
} from './beneath'
export { copyLeaf } from './copy-tree'
export { FILES_SETTINGS, type FilesSettings } from './settings'
export { BytePath, PathScope, type RawPath } from './paths'
export { VERBOSE_PATTERN, VERBOSE_WORDS } from './verbose'
export { commitAsideName, commitTempName, stagedEntries, type Made, type StagedEntry } from './staging'
// The routes (with Elysia and the schemas) are loaded by whoever mounts them, not with the
// operations: `(await filesRoutesModule()).filesRoutes`.
export const filesRoutesModule = () => import('./routes')
