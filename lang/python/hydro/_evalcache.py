"""What a config's evaluation depended on, so that ``hydro build`` can
reuse it without starting Python (docs/python.md, "No-op builds").

While the script runs (up to its first ``deploy()``), this records every
input it could have read: the files it opened (their contents' SHA-256),
the files and directories it looked at (their stat, or a listing's names),
the modules imported (their sources), the directories imports searched,
the environment variables read, and the command line.  Anything whose
result cannot be checked afterwards (time, randomness, processes, sockets,
the terminal, writing files or output, a warning) taints the evaluation,
and nothing is recorded.  The record is checked by ``hydro`` itself
(lang/python/evalcache.c), which builds the recorded deployment when every
input is unchanged and hands the config to Python again otherwise.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import json
import os
import sys
import sysconfig
from typing import Any, Callable, Dict, List, Optional, Set

VERSION = 1

# modules whose results a record cannot check, when code outside the
# standard library and this package imports them
_DENY = frozenset((
    "time", "datetime", "random", "secrets", "uuid", "socket", "ssl",
    "subprocess", "multiprocessing", "threading", "_thread", "concurrent",
    "platform", "getpass", "pwd", "grp", "tempfile", "urllib", "http",
    "ctypes", "select", "selectors", "signal", "resource", "sched",
    "zoneinfo", "locale", "calendar", "email", "smtplib", "ftplib",
    "sqlite3", "dbm", "shelve", "webbrowser", "readline", "termios", "tty",
    "pty", "fcntl", "mmap", "gc", "tracemalloc", "faulthandler", "atexit",
))

# os functions whose results depend on more than the recorded inputs
_OS_TAINT = (
    "getpid", "getppid", "urandom", "getrandom", "uname", "times", "getloadavg",
    "cpu_count", "getlogin", "getuid", "geteuid", "getgid", "getegid",
    "getgroups", "ctermid", "ttyname", "isatty", "get_terminal_size",
    "write", "read", "pread", "readv", "sched_getaffinity", "getpriority",
    "sysconf", "confstr", "statvfs", "fstat", "fstatvfs", "readlink",
)

# audit events that read nothing the record misses, whoever raises them
_HARMLESS = frozenset((
    "import", "compile", "exec", "sys._getframe", "sys._getframemodulename",
    "object.__getattr__", "object.__setattr__", "object.__delattr__",
    "marshal.loads", "marshal.load", "code.__new__", "function.__new__",
    "time.sleep", "sys.excepthook", "cpython.run_command",
    "os.listdir", "os.scandir", "glob.glob", "glob.glob/2", "open",
    "sys.unraisablehook", "cpython._PySys_ClearAuditHooks",
))


def _stdlib_dirs() -> List[str]:
    dirs = [os.path.join(os.path.dirname(os.__file__), "")]
    for key in ("stdlib", "platstdlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            dirs.append(os.path.join(p, ""))
    return dirs


def _stat(path: str) -> Optional[str]:
    """"mode:size:mtime_ns:ctime_ns:ino" (a string: JSON numbers are
    doubles), or None when it cannot be looked at."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return "%d:%d:%d:%d:%d" % (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                               st.st_ino)


def _digest(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


_MODULE_SUFFIXES = (".py", ".pyc", ".so")


def _listing(path: str, modules: bool = False) -> Optional[str]:
    """SHA-256 of a directory's sorted names, each ending in a newline;
    with modules, only the names an import could find there: directories
    (packages) and files ending in .py, .pyc or .so."""
    try:
        if modules:
            with os.scandir(path) as it:
                names = sorted(e.name for e in it
                               if e.name.endswith(_MODULE_SUFFIXES) or e.is_dir())
        else:
            names = sorted(os.listdir(path))
    except OSError:
        return None
    return hashlib.sha256("".join(n + "\n" for n in names).encode(
        "utf-8", "surrogateescape")).hexdigest()


def _boot() -> Any:
    """hydro-python's own module (lang/python/python.c): only there does
    begin() record."""
    return importlib.import_module("_hydro_boot")


def _start_environ() -> List[bytes]:
    """The NAME=VALUE entries hydro-python was started with: hydro checks
    against those, and CPython's start-up may have changed its own (PEP 538
    sets LC_CTYPE in a C locale)."""
    return list(_boot().environ())


def environ_digest() -> str:
    """SHA-256 of the environment hydro-python was started with: its
    NAME=VALUE entries sorted as bytes, each ending in a NUL
    (lang/python/evalcache.c computes the same)."""
    entries = sorted(_start_environ())
    return hashlib.sha256(b"".join(e + b"\0" for e in entries)).hexdigest()


def _start_env(name: str) -> Optional[str]:
    """A variable as hydro-python was started with it, or None."""
    key = os.fsencode(name) + b"="
    for e in _start_environ():
        if e.startswith(key):
            return os.fsdecode(e[len(key):])
    return None


def _argv() -> List[str]:
    """The command line as typed (hydro hands it over unchanged)."""
    with open("/proc/self/cmdline", "rb") as f:
        return [os.fsdecode(a) for a in f.read().split(b"\0")[:-1]]


def _helper() -> List[Any]:
    exe = os.readlink("/proc/self/exe")
    return [exe, _stat(exe)]


# what the interpreter read before the script ran, and may read differently
_START_ENV = (
    "PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONNOUSERSITE",
    "PYTHONUSERBASE", "PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONUTF8",
    "PYTHONPLATLIBDIR", "PYTHONWARNINGS", "PYTHONDEVMODE", "PYTHONOPTIMIZE",
    "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONCOERCECLOCALE",
    "PYTHONWARNDEFAULTENCODING", "PYTHONINTMAXSTRDIGITS", "LANG", "LC_ALL",
    "LC_CTYPE", "HOME", "HYDRO_NO_EVAL_CACHE",
)


def _site_files(files: Dict[str, Optional[str]], stats: Dict[str, Optional[str]]) -> None:
    """The site directories' .pth files, and whether the user's exists."""
    import site
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user, str):
        dirs.append(user)
        stats[os.path.abspath(user)] = _stat(user)
    for d in dirs:
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            if n.endswith(".pth"):
                p = os.path.join(os.path.abspath(d), n)
                files[p] = _digest(p)


class _Output:
    """sys.stdout or sys.stderr while recording: using it taints."""

    def __init__(self, rec: "_Recorder", real: Any) -> None:
        self._rec = rec
        self._real = real

    def __getattr__(self, name: str) -> Any:
        if name in ("write", "writelines", "isatty", "fileno", "read",
                    "readline", "readlines", "buffer"):
            self._rec.taint("the script used its standard input or output")
        return getattr(self._real, name)


class _Recorder:
    def __init__(self) -> None:
        self.active = False
        self.tainted: Optional[str] = None
        self.files: Set[str] = set()
        self.stats: Set[str] = set()
        self.lists: Set[str] = set()
        self.env: Dict[str, Optional[str]] = {}
        self.env_all = False
        self.internal = _stdlib_dirs()
        self.before: Set[str] = set()
        self.saved: Dict[str, Any] = {}
        self.diags = (0, 0)
        self.environ_digest = ""

    def taint(self, why: str) -> None:
        if self.active and self.tainted is None:
            self.tainted = why

    def _outside(self) -> bool:
        """Whether code outside the standard library and this package is
        on the stack (the script, its modules, third-party packages)."""
        f: Any = sys._getframe(2)
        while f is not None:
            name = f.f_code.co_filename
            if not (name.startswith(("<built-in>/hydro/", "<frozen ")) or
                    any(name.startswith(d) for d in self.internal)):
                return True
            f = f.f_back
        return False

    def _path(self, p: Any) -> Optional[str]:
        if isinstance(p, int):
            return None
        try:
            p = os.fsdecode(p)
        except TypeError:
            return None
        return str(os.path.abspath(p))

    def audit(self, event: str, args: Any) -> None:
        if not self.active:
            return
        if event == "open":
            path, mode, flags = args
            p = self._path(path)
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or \
                (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if p is None:
                if self._outside():
                    self.taint("the script opened a file descriptor")
            elif writing:
                # the import system writes bytecode beside the sources
                if not (p.endswith(".pyc") and os.sep + "__pycache__" + os.sep in p):
                    self.taint("the script opened '%s' for writing" % p)
            elif not p.endswith(".pyc"):
                self.files.add(p)
        elif event in ("os.listdir", "os.scandir"):
            if sys._getframe(1).f_code.co_filename.startswith("<frozen importlib"):
                return  # the import system's search: modlists in commit()
            p = self._path(args[0] if args and args[0] is not None else ".")
            if p is not None:
                self.lists.add(p)
                if event == "os.scandir":
                    # its entries carry their stat
                    try:
                        for n in os.listdir(p):
                            self.stats.add(os.path.join(p, n))
                    except OSError:
                        pass
            elif self._outside():
                self.taint("the script listed a directory by descriptor")
        elif event not in _HARMLESS and self._outside():
            self.taint("the script raised the audit event '%s'" % event)

    # --- hooks installed while recording -----------------------------------

    def _import(self, name: str, globals: Any = None, locals: Any = None,
                fromlist: Any = (), level: int = 0) -> Any:
        if level == 0 and name.split(".", 1)[0] in _DENY and self.active and self._outside():
            self.taint("the script imported '%s'" % name)
        return self.saved["__import__"](name, globals, locals, fromlist, level)

    def _import_module(self, name: str, package: Optional[str] = None) -> Any:
        if not name.startswith(".") and name.split(".", 1)[0] in _DENY and \
                self.active and self._outside():
            self.taint("the script imported '%s'" % name)
        return self.saved["import_module"](name, package)

    def _wrap_stat(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
            p = self._path(path) if self.active else None
            if self.active and kwargs.get("dir_fd") is not None and self._outside():
                self.taint("the script looked at a path relative to a descriptor")
            elif p is not None:
                self.stats.add(p)
            elif self.active and isinstance(path, int) and self._outside():
                self.taint("the script looked at a file descriptor")
            return fn(path, *args, **kwargs)
        return stat

    def _wrap_taint(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def tainting(*args: Any, **kwargs: Any) -> Any:
            if self._outside():
                self.taint("the script called os.%s" % name)
            return fn(*args, **kwargs)
        return tainting

    def start(self) -> None:
        rec = self
        environ_cls = os.environ.__class__

        class Environ(environ_cls):  # type: ignore
            """os.environ: what is read, and whether all of it is."""

            def __getitem__(self, key: Any) -> Any:
                try:
                    value = super().__getitem__(key)
                except KeyError:
                    value = None
                    raise
                finally:
                    if rec.active and isinstance(key, str):
                        rec.env.setdefault(key, value)
                return value

            def __iter__(self) -> Any:
                if rec.active:
                    rec.env_all = True
                return super().__iter__()

            def __len__(self) -> int:
                if rec.active:
                    rec.env_all = True
                return int(super().__len__())

        class EnvironB(environ_cls):  # type: ignore
            """os.environb: any use counts as reading all of it."""

            def __getitem__(self, key: Any) -> Any:
                if rec.active:
                    rec.env_all = True
                return super().__getitem__(key)

            def __iter__(self) -> Any:
                if rec.active:
                    rec.env_all = True
                return super().__iter__()

        self.environ_digest = environ_digest()
        self.before = set(sys.modules)
        self.saved = {"environ_cls": environ_cls, "__import__": builtins.__import__,
                      "stdout": sys.stdout, "stderr": sys.stderr, "stdin": sys.stdin}
        for name in ("stat", "lstat", "access"):
            self.saved["os." + name] = getattr(os, name)
            setattr(os, name, self._wrap_stat(getattr(os, name)))
        for name in _OS_TAINT:
            if hasattr(os, name):
                self.saved["os." + name] = getattr(os, name)
                setattr(os, name, self._wrap_taint(name, getattr(os, name)))
        os.environ.__class__ = Environ
        os.environb.__class__ = EnvironB
        builtins.__import__ = self._import
        self.saved["import_module"] = importlib.import_module
        importlib.import_module = self._import_module
        self.saved.update(__stdout__=sys.__stdout__, __stderr__=sys.__stderr__,
                          __stdin__=sys.__stdin__)
        sys.stdout = _Output(self, sys.stdout)  # type: ignore
        sys.stderr = _Output(self, sys.stderr)  # type: ignore
        sys.stdin = _Output(self, sys.stdin)  # type: ignore
        sys.__stdout__ = _Output(self, sys.__stdout__)  # type: ignore
        sys.__stderr__ = _Output(self, sys.__stderr__)  # type: ignore
        sys.__stdin__ = _Output(self, sys.__stdin__)  # type: ignore
        self.diags = _boot().diagnostics()
        sys.addaudithook(self.audit)
        self.active = True

    def stop(self) -> None:
        if not self.active:
            return
        self.active = False
        if _boot().diagnostics() != self.diags:
            self.tainted = self.tainted or "the evaluation reported an error or a warning"
        for key, value in self.saved.items():
            if key.startswith("os."):
                setattr(os, key[3:], value)
        os.environ.__class__ = self.saved["environ_cls"]
        os.environb.__class__ = self.saved["environ_cls"]
        builtins.__import__ = self.saved["__import__"]
        importlib.import_module = self.saved["import_module"]
        sys.stdout = self.saved["stdout"]
        sys.stderr = self.saved["stderr"]
        sys.stdin = self.saved["stdin"]
        sys.__stdout__ = self.saved["__stdout__"]
        sys.__stderr__ = self.saved["__stderr__"]
        sys.__stdin__ = self.saved["__stdin__"]


_rec: Optional[_Recorder] = None


def begin(mode: str) -> None:
    """Record the evaluation of the script that is about to run (build only)."""
    global _rec
    if mode != "build" or os.environ.get("HYDRO_NO_EVAL_CACHE"):
        return
    _rec = _Recorder()
    _rec.start()


def pause() -> None:
    """The script's part is over (its first deploy(), or its end)."""
    if _rec is not None:
        _rec.stop()


def _record_path(config: str) -> str:
    d = os.path.dirname(os.path.abspath(config))
    return os.path.join(d, ".hydro", "eval", os.path.basename(config) + ".json")


def _debug(msg: str) -> None:
    if os.environ.get("HYDRO_EVAL_CACHE_DEBUG"):
        sys.stderr.write("hydro: eval cache: %s\n" % msg)


def commit(config: str, model: Any) -> None:
    """Write the record of the evaluation that declared model, unless it
    was tainted; a stale record is removed either way first."""
    from . import _display
    rec = _rec
    if rec is None:
        return
    rec.stop()
    try:
        os.unlink(_record_path(config))
    except OSError:
        pass
    if rec.tainted:
        _debug("not recorded: %s" % rec.tainted)
        return
    files: Dict[str, Optional[str]] = {os.path.abspath(config): _digest(config)}
    stats: Dict[str, Optional[str]] = {}
    lists: Dict[str, Optional[str]] = {}
    modlists: Dict[str, Optional[str]] = {}
    path = _record_path(config)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError as e:
        _debug("not recorded: %s" % e)
        return
    for p in rec.files:
        files[p] = _digest(p)
    # modules: the sources of those the evaluation imported, the stat of
    # the others (the interpreter's own and this package's imports)
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if not isinstance(f, str) or f.startswith("<"):
            continue
        f = os.path.abspath(f)
        if name in rec.before:
            stats[f] = _stat(f)
        else:
            files[f] = _digest(f)
        for d in getattr(mod, "__path__", None) or ():
            if isinstance(d, str) and name not in rec.before:
                modlists[os.path.abspath(d)] = None
    for d in sys.path:
        if isinstance(d, str):
            modlists[os.path.abspath(d or ".")] = None
    for p in modlists:
        modlists[p] = _listing(p, True)
    for p in rec.lists:
        lists[p] = _listing(p)
    for p in rec.stats:
        if p not in files:
            stats[p] = _stat(p)
    # the programs' files the model read when services were declared
    spec = json.loads(model.to_json(False))
    dep = spec.get("deployment", spec)
    for s in dep.get("services", ()):
        src = s.get("src")
        if isinstance(src, str):
            full = os.path.join(os.path.dirname(os.path.abspath(config)), src)
            if os.path.isfile(full):
                files[full] = _digest(full)
            else:
                stats[full] = _stat(full)
                stats[os.path.join(full, "Cargo.toml")] = _stat(os.path.join(full, "Cargo.toml"))
    _site_files(files, stats)
    # as hydro-python was started: what the script saw follows from that
    env: Dict[str, Optional[str]] = {k: _start_env(k) for k in set(rec.env) | set(_START_ENV)}
    record: Dict[str, Any] = {
        "version": VERSION,
        "helper": _helper(),
        "cwd": os.getcwd(),
        "argv": _argv()[1:],
        "env": env,
        "files": files,
        "stats": stats,
        "lists": lists,
        "modlists": modlists,
        "config": _display(config),
        "asked": _boot().asked(),
        "where": _boot().wheres(model),
        "deployment": spec,
    }
    if rec.env_all:
        record["env_all"] = rec.environ_digest
    try:
        tmp = "%s.%d.tmp" % (path, os.getpid())
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, path)
    except OSError as e:
        _debug("not recorded: %s" % e)
        return
    _debug("recorded in %s" % path)
