# execd python driver, part 3 of 4 (see driver.py): rich results, display(), matplotlib.
# Concatenated after output.py; shares its globals (_send, _sync_output).

# --- rich results --------------------------------------------------------------------------

_REPRS = [
    ('_repr_html_', 'text/html'),
    ('_repr_markdown_', 'text/markdown'),
    ('_repr_svg_', 'image/svg+xml'),
    ('_repr_png_', 'image/png'),
    ('_repr_jpeg_', 'image/jpeg'),
    ('_repr_json_', 'application/json'),
    ('_repr_latex_', 'text/latex'),
    ('_repr_javascript_', 'application/javascript'),
]


def _encode(mime, value):
    if isinstance(value, (bytes, bytearray)):
        if mime.startswith('image/') and mime != 'image/svg+xml':
            import base64
            return base64.b64encode(bytes(value)).decode('ascii')
        return bytes(value).decode('utf-8', 'replace')
    if mime == 'application/json' or mime.endswith('+json'):
        return value
    return value if isinstance(value, str) else str(value)


# pprint lays a container out on one line, as repr does, when that line fits its width (80);
# only a longer one needs pprint, whose import (dataclasses, inspect, re, ast, dis) cost the
# first container result of every context ~27 ms.
_PPRINT_WIDTH = 80


def _plain(obj):
    try:
        if isinstance(obj, (dict, list, tuple, set, frozenset)):
            text = repr(obj)
            if len(text) <= _PPRINT_WIDTH and '\n' not in text:
                return text
            import pprint
            return pprint.pformat(obj, sort_dicts=False)
        return repr(obj)
    except Exception as e:  # a broken __repr__ must not break the cell
        return '<unrepresentable %s: %s>' % (type(obj).__name__, e)


def _figure_png(fig):
    import base64
    buf = io.BytesIO()
    fig.savefig(buf, format='png', bbox_inches='tight')
    return base64.b64encode(buf.getvalue()).decode('ascii')


# A value of one of these types has no rich representation to look for (a built-in type takes
# no new attributes): its bundle is its repr, without ten failed attribute lookups.
_PLAIN_TYPES = frozenset((int, float, complex, bool, str, bytes))


def _bundle(obj):
    if type(obj) in _PLAIN_TYPES:
        text = _plain(obj)
        return {'text/plain': text, 'text': text}
    data = {}
    if not isinstance(obj, type):
        method = getattr(obj, '_repr_mimebundle_', None)
        if callable(method):
            try:
                got = method(include=None, exclude=None)
                if isinstance(got, tuple):
                    got = got[0]
                for mime, value in (got or {}).items():
                    data[mime] = _encode(mime, value)
            except Exception:
                pass
        for attr, mime in _REPRS:
            if mime in data:
                continue
            method = getattr(obj, attr, None)
            if not callable(method):
                continue
            try:
                value = method()
            except Exception:
                continue
            if isinstance(value, tuple):
                value = value[0]
            if value is not None:
                data[mime] = _encode(mime, value)
        if 'image/png' not in data and type(obj).__module__.startswith('matplotlib.figure'):
            try:
                data['image/png'] = _figure_png(obj)
            except Exception:
                pass
    if 'text/plain' not in data:
        data['text/plain'] = _plain(obj)
    data['text'] = data['text/plain']  # the Python SDK reads 'text'
    return data


class _Cell(object):
    """What the running cell has emitted; execution_count goes out once, before any result."""
    count = 0
    counted = False


def _count_line():
    return ('{"type": "execution_count", "execution_count": %d}\n' % _Cell.count).encode()


def _emit_count(hold=False):
    if not _Cell.counted:
        _Cell.counted = True
        _send(_count_line(), hold)


def _emit_result(message, hold=False):
    """`message`: a result's, from _result_message or _value_message. `hold`: the cell's last
    value, sent with the cell's `done` (see _send)."""
    _sync_output()
    if not _Cell.counted and isinstance(message, bytes):
        _Cell.counted = True  # the count and the result in one send: one lock, one append
        message = _count_line() + message
    else:
        _emit_count(hold)
    _send(message, hold)


def _value_message(obj):
    """The result message of a cell's value. A plain type's repr under the bulk size is put
    together at once, the bytes _result_message makes of its bundle: that dict and the walk
    over it were 9% of a warm `x + 1` in the driver (callgrind: 120k → 110k instructions)."""
    if type(obj) in _PLAIN_TYPES:
        text = _plain(obj)
        if 2 * len(text) < _BULK_MIN:  # text/plain and text: the bundle's size
            quoted = _quote(text)
            return ('{"type": "result", "results": {"text/plain": %s, "text": %s}}\n' % (quoted, quoted)).encode()
    return _result_message(_bundle(obj))


def _result_message(data):
    """A large bundle of strings goes as a bulk message (see _bulk). Not one with a key of
    digits: JavaScript orders such keys first, so execd's JSON of it differs from ours. A
    small one of strings is put together with _quote, as _dumps would have."""
    size = 0
    for key, value in data.items():
        if not isinstance(value, str) or not isinstance(key, str) or key.isdigit():
            return {'type': 'result', 'results': data}
        size += len(value)
    if size >= _BULK_MIN:
        return _aliased_bulk(data) or _bulk('result', data) or {'type': 'result', 'results': data}
    pairs = ', '.join([_quote(key) + ': ' + _quote(value) for key, value in data.items()])
    return ('{"type": "result", "results": {%s}}\n' % pairs).encode()


def _aliased_bulk(data):
    """The bulk message of a bundle that ends with text/plain and its alias text: text/plain's
    JSON goes once, and the header's "alias" (its length) tells execd to write it again as
    text's. Sent twice, a cell returning a 60 MB string held 121 MiB of execd until its client
    read it; once, 61 MiB. None for any other bundle (or a lone surrogate): sent as it is."""
    keys = list(data)
    if keys[-2:] != ['text/plain', 'text'] or data['text'] is not data['text/plain']:
        return None
    rest = dict(data)
    del rest['text/plain'], rest['text']
    try:
        text = _compact(data['text/plain']).encode('utf-8')
        head = _compact(rest).encode('utf-8')
    except UnicodeEncodeError:
        return None
    body = b''.join((head[:-1], b',' if rest else b'', b'"text/plain":', text, b'}'))
    header = '{"raw":%d,"type":"result","alias":%d}\n' % (len(body), len(text))
    return b''.join((header.encode(), body, b'\n'))


def display(*objs, **kwargs):
    """Shows each object as a result (rich representations included), like IPython's display()."""
    raw = kwargs.get('raw', False)
    for obj in objs:
        if raw and isinstance(obj, dict):
            data = dict((k, _encode(k, v)) for k, v in obj.items())
            data.setdefault('text/plain', '')
            data['text'] = data['text/plain']
        else:
            data = _bundle(obj)
        _emit_result(_result_message(data))


builtins.display = display


# --- matplotlib: Agg, figures shown on plt.show() and at the end of a cell --------------------

os.environ.setdefault('MPLBACKEND', 'Agg')


def _show_figures(*args, **kwargs):
    plt = sys.modules.get('matplotlib.pyplot')
    if plt is None:
        return
    try:
        nums = plt.get_fignums()
    except Exception:
        return
    for num in nums:
        try:
            fig = plt.figure(num)
            png = _figure_png(fig)
        except Exception as e:
            sys.stderr.write('execd: could not render figure %s: %s\n' % (num, e))
            continue
        _emit_result(_result_message({'image/png': png, 'text/plain': '<Figure>', 'text': '<Figure>'}))
    plt.close('all')


def _patch_pyplot(module):
    module.show = _show_figures


def _patch_ipython_display(module):
    # Without a running IPython shell, IPython's display() only prints reprs; ours emits results.
    if 'display' in vars(module):  # not hasattr: IPython.core.display warns on a lookup
        module.display = display


_PATCHES = {
    'matplotlib.pyplot': _patch_pyplot,
    'IPython.core.display_functions': _patch_ipython_display,
    'IPython.core.display': _patch_ipython_display,
    'IPython.display': _patch_ipython_display,
}


class _PostImportHook(object):
    """Patches a few modules right after they are imported (so none is imported at startup)."""

    def __init__(self):
        self.finding = set()

    def find_spec(self, name, path, target=None):
        if name not in _PATCHES or name in self.finding:
            return None
        import importlib.util
        self.finding.add(name)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.finding.discard(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, 'exec_module'):
            return spec
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            _PATCHES[name](module)
        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PostImportHook())
