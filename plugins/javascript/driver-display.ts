/**
 * Interpreter side (runs in the child, embedded as text): MIME bundles for values, and the
 * optional DOM. The names of the hooks follow IPython (`_repr_html_`, ...) so objects written
 * for one notebook world render in the other.
 */
import { inspect } from 'node:util'
import { createRequire } from 'node:module'

type Bundle = Record<string, string | object>

const HOOKS: [string, string][] = [
  ['_repr_html_', 'text/html'],
  ['_repr_svg_', 'image/svg+xml'],
  ['_repr_png_', 'image/png'],
  ['_repr_jpeg_', 'image/jpeg'],
  ['_repr_markdown_', 'text/markdown'],
  ['_repr_latex_', 'text/latex'],
  ['_repr_json_', 'application/json'],
]

const SVG_NS = 'http://www.w3.org/2000/svg'

/** The bundle for a value: its `text/plain` inspection plus every richer form it offers. */
export function bundleOf(value: unknown): Bundle {
  const bundle: Bundle = {}
  if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
    const v = value as Record<string, unknown>
    if (typeof v._repr_mimebundle_ === 'function') Object.assign(bundle, normalize(v._repr_mimebundle_()))
    for (const [hook, mime] of HOOKS) {
      if (typeof v[hook] !== 'function' || mime in bundle) continue
      const out = (v[hook] as () => unknown).call(value)
      if (out !== undefined && out !== null) bundle[mime] = encode(mime, out)
    }
    Object.assign(bundle, domBundle(v), imageBundle(value))
  } else if (typeof value === 'string') {
    Object.assign(bundle, markupBundle(value))
  }
  bundle['text/plain'] ??= plainText(value, bundle)
  return bundle
}

/** `display({'text/html': '<b>x</b>'})` passes a bundle as is; anything else is a value. */
export function displayBundle(value: unknown): Bundle {
  if (isMimeBundle(value)) return normalize(value)
  return bundleOf(value)
}

function isMimeBundle(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  if (Object.getPrototypeOf(value) !== Object.prototype) return false
  const keys = Object.keys(value)
  return keys.length > 0 && keys.every(k => /^[a-z]+\/[\w.+-]+$/.test(k))
}

function normalize(raw: unknown): Bundle {
  const out: Bundle = {}
  if (raw && typeof raw === 'object') {
    for (const [mime, v] of Object.entries(raw)) if (v !== undefined && v !== null) out[mime] = encode(mime, v)
  }
  return out
}

/** Binary images travel as base64 (the contract's `image/png`); JSON stays structured. */
function encode(mime: string, v: unknown): string | object {
  if (v instanceof Uint8Array || v instanceof ArrayBuffer) return Buffer.from(v as Uint8Array).toString('base64')
  if (mime === 'application/json' || mime.endsWith('+json'))
    return typeof v === 'string' ? JSON.parse(v) : (v as object)
  return String(v)
}

interface NodeLike {
  nodeType: number
  outerHTML?: string
  namespaceURI?: string | null
  localName?: string
  documentElement?: NodeLike
  childNodes?: ArrayLike<NodeLike & { textContent?: string }>
}

/** A DOM node (happy-dom or any DOM) renders as its markup; an `<svg>` root as an image. */
function domBundle(v: Record<string, unknown>): Bundle {
  const node = v as unknown as NodeLike
  if (typeof node.nodeType !== 'number') return {}
  if (node.nodeType === 9 && node.documentElement?.outerHTML) return { 'text/html': node.documentElement.outerHTML }
  if (node.nodeType === 11 && node.childNodes) {
    return { 'text/html': Array.from(node.childNodes, c => c.outerHTML ?? c.textContent ?? '').join('') }
  }
  if (node.nodeType !== 1 || typeof node.outerHTML !== 'string') return {}
  if (node.namespaceURI === SVG_NS && node.localName === 'svg')
    return { 'image/svg+xml': standaloneSvg(node.outerHTML) }
  return { 'text/html': node.outerHTML }
}

/** A serialized `<svg>` lacks the namespace an image viewer needs to read it on its own. */
const standaloneSvg = (markup: string) =>
  /^<svg[^>]*\sxmlns=/.test(markup) ? markup : markup.replace(/^<svg/, `<svg xmlns="${SVG_NS}"`)

const HTML_DOCUMENT = /^\s*(<!doctype html|<html[\s>])/i
const HTML_FRAGMENT = /^\s*<([a-zA-Z][\w-]*)(\s[^>]*)?>[\s\S]*<\/\1>\s*$/

function markupBundle(s: string): Bundle {
  if (/^\s*<svg[\s>][\s\S]*<\/svg>\s*$/.test(s)) return { 'image/svg+xml': standaloneSvg(s.trim()) }
  if (HTML_DOCUMENT.test(s) || HTML_FRAGMENT.test(s)) return { 'text/html': s }
  return {}
}

function imageBundle(value: unknown): Bundle {
  if (!(value instanceof Uint8Array)) return {}
  const b = value
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47)
    return { 'image/png': Buffer.from(b).toString('base64') }
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { 'image/jpeg': Buffer.from(b).toString('base64') }
  return {}
}

/** Markup is its own best plain text; dumping a DOM node's fields would be useless. */
function plainText(value: unknown, bundle: Bundle): string {
  const markup = bundle['text/html'] ?? bundle['image/svg+xml']
  if (typeof markup === 'string' && typeof value === 'object' && value !== null && 'nodeType' in value) return markup
  return inspect(value, { colors: false, depth: 4, maxArrayLength: 100, maxStringLength: 100_000, breakLength: 100 })
}

/**
 * `document` appears on first use: loading happy-dom costs ~50 ms, which a cell that never
 * touches the DOM should not pay. Only `document` is global (its window is
 * `document.defaultView`): libraries that test `typeof window` to detect a browser must keep
 * taking their server paths. The bundle is a plain file (path from the parent) because the
 * executable's embedded modules are not visible to the child.
 */
export function installLazyDom(bundlePath: string | undefined): void {
  if (!bundlePath) return
  Object.defineProperty(globalThis, 'document', {
    configurable: true,
    enumerable: false,
    get: () => {
      const { Window } = createRequire(bundlePath)(bundlePath) as { Window: new (o: object) => Record<string, unknown> }
      const window = new Window({ url: 'http://localhost/', width: 1024, height: 768 })
      for (const name of ['DOMParser', 'XMLSerializer', 'HTMLElement', 'Element', 'Node', 'SVGElement']) {
        if (!(name in globalThis)) define(name, window[name])
      }
      define('document', window.document)
      return window.document
    },
    set: (v: unknown) => define('document', v),
  })
}

const define = (name: string, value: unknown) =>
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false })
