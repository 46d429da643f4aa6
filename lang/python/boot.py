# The start of hydro-python's interpreter, before the hydro package
# (lang/python/python.c runs it with `sources`, the package's files:
# {"hydro": (origin, text, is_package, code), "hydro.gcp": ...}; code is
# the marshalled code object, or b"" to compile the text).  Built into the
# binary by embed.sh like the package; its frames are the package's.
import sys, os, marshal, importlib.machinery as _m, _thread


class BuiltinHydroFinder:
    """Installed first on sys.meta_path: serves hydro and hydro.* from the
    sources built into the binary, and hydro._hydro from the inittab, so
    that an older installed copy of the package never shadows this one.
    The file names start with "<built-in>" so that tracebacks can tell
    package frames from the script's."""

    def __init__(self, sources):
        self.sources = sources

    def find_spec(self, name, path=None, target=None):
        if name == 'hydro._hydro':
            return _m.ModuleSpec(name, _m.BuiltinImporter, origin='built-in')
        entry = self.sources.get(name)
        if entry is None:
            return None
        spec = _m.ModuleSpec(name, self, origin=entry[0], is_package=entry[2])
        spec.has_location = True
        if entry[2]:
            spec.submodule_search_locations = []
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        origin, text, _, code = self.sources[module.__name__]
        code = marshal.loads(code) if code else \
            compile(text, origin, 'exec', dont_inherit=True)
        exec(code, module.__dict__)

    def get_source(self, name):
        return self.sources[name][1]

    def is_package(self, name):
        return self.sources[name][2]


sys.meta_path.insert(0, BuiltinHydroFinder(sources))

# Stdlib modules that asyncio (and the package) import but do not use until
# a script asks: made when imported, run at their first use.  ssl alone is
# OpenSSL's set-up and five enums, inspect brings ast and dis.  The first
# attribute read runs the module (a lock keeps other threads waiting
# meanwhile); __spec__ and __name__, which every later import statement
# reads, do not.  python.c takes the finder off sys.meta_path once the
# package is imported.
_Module = type(sys)
_AS_IS = frozenset(('__spec__', '__name__', '__dict__', '__class__'))


class _Deferred:
    """The loader of a module made but not run yet."""

    def __init__(self, loader):
        self.loader = loader
        self.lock = _thread.RLock()
        self.state = 0      # 1: running on the lock's thread, 2: done

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__class__ = _DeferredModule

    def run(self, module, spec):
        with self.lock:
            if self.state:
                return
            self.state = 1
            _Module.__getattribute__(module, '__dict__')['__loader__'] = self.loader
            try:
                self.loader.exec_module(module)
            finally:
                spec.loader = self.loader
                module.__class__ = _Module
                self.state = 2


class _DeferredModule(_Module):
    def __getattribute__(self, name):
        if name not in _AS_IS:
            spec = _Module.__getattribute__(self, '__spec__')
            if type(spec.loader) is _Deferred:
                spec.loader.run(self, spec)
        return _Module.__getattribute__(self, name)

    def __delattr__(self, name):
        _DeferredModule.__getattribute__(self, '__loader__')
        _Module.__delattr__(self, name)


class DeferringFinder:
    names = frozenset(('ssl', 'asyncio.sslproto', 'asyncio.staggered', 'inspect',
                       'locale', 'textwrap', 'tokenize'))

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        for f in sys.meta_path:
            find = getattr(f, 'find_spec', None)
            spec = find(name, path, target) if f is not self and find else None
            if spec is not None:
                if type(spec.loader) is _m.SourceFileLoader:
                    spec.loader = _Deferred(spec.loader)
                return spec
        return None


deferring = DeferringFinder()
sys.meta_path.insert(0, deferring)

# the interpreter's own python, for scripts that start sys.executable:
# sysconfig's BINDIR and VERSION, without importing it (a few ms)
_exe = os.path.join(sys.base_exec_prefix, 'bin', 'python%d.%d' % sys.version_info[:2])
if os.access(_exe, os.X_OK):
    sys.executable = _exe
