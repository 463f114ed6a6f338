/**
 * What the code section offers outside its folder: the wire models `execd exec` reads a
 * daemon's answers with (a context, a language's name).
 */
export { CodeContextSchema, LanguageSchema } from './schema'
