/**
 * What the files section offers other sections: its routes over another root, and the settings
 * it opened them with. The isolated section serves `/v1/isolated/session/{id}/files/...` with
 * them, anchored at what a session sees, instead of a second copy of the HTTP adapter; the
 * race-free walk, the path scope and the staging both sections build on are core/beneath/.
 * Another section imports this file only (core/layout.test.ts checks it).
 */
export { FILES_SETTINGS, type FilesSettings } from './settings'
// The routes (with Elysia and the schemas) are loaded by whoever mounts them, not with the
// operations: `(await filesRoutesModule()).filesRoutes`.
export const filesRoutesModule = () => import('./routes')
