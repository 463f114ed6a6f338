/**
 * What the isolated section offers outside its folder: the requests `execd exec --isolated`
 * makes, and the check of a create request's words it makes before anything is opened.
 */
export { checkShape, type CreateRequest } from './ops/params'
export type { RunRequest } from './ops/run-request'
