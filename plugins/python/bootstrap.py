# execd's python bootstrap (passed with -c). execd writes to fd 3, before its first message,
# argv[1] bytes of the driver's code as an earlier interpreter of this path marshalled it (a
# python version, a NUL, the marshal bytes; 0 bytes: none yet), then argv[2] bytes of the
# driver's source (UTF-8). Code of this very version is run as it is; otherwise the source is
# compiled (~5 ms of a cold start) and the code offered back to execd in `ready` (cells.py) for
# the next interpreter. The source comes over the channel, not in argv: python decodes, copies and
# converts every argument several times at its start (6.1M instructions for the driver's 34 KB,
# a tenth of a context's start), and it was only read when the code could not be used.
import sys


def _execd_boot():
    import _socket
    code_size, source_size = int(sys.argv[1]), int(sys.argv[2])
    chan = _socket.socket(fileno=3)
    data = bytearray()
    try:
        while len(data) < code_size + source_size:
            chunk = chan.recv(code_size + source_size - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        chan.detach()  # the driver's channel: not closed here
    if code_size > 0:
        version, _, code = bytes(data[:code_size]).partition(b'\0')
        if version == sys.version.encode('utf-8', 'surrogatepass'):
            import marshal
            try:
                return marshal.loads(code), None
            except Exception:
                pass
    code = compile(bytes(data[code_size:]), '<execd-driver>', 'exec')
    return code, code


_execd_code, _execd_compiled = _execd_boot()
del _execd_boot
exec(_execd_code)
