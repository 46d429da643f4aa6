"""Running a config script: ``hydro run|build|plan|graph X.py`` and
``hydro.run(main)`` under plain python3.

The script is evaluated as ``__main__``; its ``main()`` (or ``main(args)``)
runs under asyncio.run.  Whatever happens, every service is stopped and
every machine terminated afterwards (unless --keep).  An exception prints
the traceback of the script's own frames and a one-line summary.  SIGTERM
and SIGHUP stop the run as Ctrl-C does, and so does a service that dies
that may not: main() is cancelled, so that its ``finally`` blocks run."""

from __future__ import annotations

import asyncio
import builtins
import inspect
import os
import signal
import sys
import traceback
import types
from typing import Any, Callable, List, Optional, Sequence, Set

from . import _hydro
from . import Deployment, Error, _StopAtDeploy, _display, _state, _PKG_DIR

# signal's C functions, beneath signal.signal() and signal.getsignal(): they
# give a handler as it is (see _await)
_signal: Any = sys.modules["_signal"]


class _Ran:
    main_ran = False
    cleaning = False
    wakeup = False      # the loop's self-pipe is the signal wakeup descriptor


# what stops a run as cleanly as Ctrl-C; the exit status is 128 + the signal
_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class _Signalled(BaseException):
    """SIGTERM or SIGHUP came while no main() ran to cancel."""

    def __init__(self, sig: int) -> None:
        super().__init__(signal.Signals(sig).name)
        self.sig = sig


def _on_signal(sig: int, frame: Any = None) -> None:
    """SIGTERM, SIGHUP: cancel every run (a second signal forces it) and
    the script's main task."""
    first = not _state.signal
    if first:
        _state.signal = sig
        sys.stdout.flush()
        _hydro.report("note", "%s: stopping every service" % signal.Signals(sig).name)
    for d in _state.deployments:
        for run in d._runs():
            run.cancel()
    if first and not _Ran.cleaning:
        busy = _busy()
        if not _state.stop_main():
            raise _Signalled(sig)
        if busy:
            # a task busy in Python code (a loop that never awaits anything
            # that waits) would never see the cancel: the signal stops it
            # where it is, between two bytecodes, its finally blocks
            # running; as SystemExit, which asyncio lets through where it
            # swallows other errors (a send the signal interrupted)
            raise SystemExit(128 + sig)


def _busy() -> bool:
    """Whether a task of the script's event loop is running now: a signal
    handler runs between the bytecodes of whatever runs, and finds no task
    when the loop waits for events."""
    try:
        return asyncio.current_task() is not None
    except RuntimeError:
        return False    # no loop runs


def _on_sigint(runner: Any) -> Callable[[int, Any], None]:
    """Ctrl-C inside the script's loop: asyncio's own handler (runner), which
    cancels main() for its finally blocks to run, when the loop waits for
    events; KeyboardInterrupt at once where a task is busy, which a cancel
    would never reach: one Ctrl-C always stops the script."""
    def handler(sig: int, frame: Any) -> None:
        if _busy() and not _Ran.cleaning:
            raise KeyboardInterrupt
        if callable(runner):
            runner(sig, frame)
        else:
            raise KeyboardInterrupt
    return handler


def _noop() -> None:
    pass


def _catch_signals() -> None:
    for sig in _SIGNALS:
        signal.signal(sig, _on_signal)
    # as hydro itself: Ctrl-C stops the run even where the shell started it
    # with SIGINT ignored (a background job of a script)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _internal_dirs() -> List[str]:
    import sysconfig
    dirs = [_PKG_DIR]
    for key in ("stdlib", "platstdlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            dirs.append(os.path.join(p, ""))
    return dirs


_INTERNAL: List[str] = []     # _internal_dirs(), once a traceback is shown


def _is_internal(filename: str) -> bool:
    if not _INTERNAL:
        _INTERNAL.extend(_internal_dirs())
    return filename.startswith("<frozen") or any(filename.startswith(d) for d in _INTERNAL)


def _evalcache() -> Any:
    """hydro._evalcache, which only ``hydro build`` uses: imported then"""
    from . import _evalcache as mod
    return mod


def _filter(te: traceback.TracebackException, seen: Set[int]) -> None:
    if id(te) in seen:
        return
    seen.add(id(te))
    te.stack = traceback.StackSummary.from_list(
        [f for f in te.stack if not _is_internal(f.filename)])
    for other in (te.__cause__, te.__context__):
        if other is not None:
            _filter(other, seen)


def _report_exception(exc: BaseException) -> None:
    """Print the traceback of the script's frames, then one summary line."""
    te = traceback.TracebackException.from_exception(exc)
    _filter(te, set())
    sys.stdout.flush()
    msg = str(exc)
    if isinstance(exc, Error):
        # the message names the script line already; with no frame of the
        # script's, the summary alone says it all, else its first line
        if te.stack:
            sys.stderr.write("".join(te.format()))
            msg = msg.split("\n", 1)[0]
        _hydro.report("error", msg)
        return
    sys.stderr.write("".join(te.format()))
    sys.stderr.flush()
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not _is_internal(f.filename)]
    name = type(exc).__qualname__
    if type(exc).__module__ not in ("builtins", "__main__"):
        name = "%s.%s" % (type(exc).__module__, name)
    text = "%s: %s" % (name, msg.split("\n", 1)[0]) if msg else name
    if frames:
        text = "%s:%d: %s" % (_display(frames[-1].filename), frames[-1].lineno or 0, text)
    _hydro.report("error", text)


_CO_VARARGS = 0x04     # inspect.CO_VARARGS, the same in every CPython


def _takes_args(main: Callable[..., Any]) -> bool:
    if (type(main) is types.FunctionType and not hasattr(main, "__wrapped__")
            and not hasattr(main, "__signature__")):
        # what inspect.signature() would say, without importing inspect
        # (5 ms): positional parameters, or *args
        code = main.__code__
        return code.co_argcount > 0 or bool(code.co_flags & _CO_VARARGS)
    try:
        sig = inspect.signature(main)
    except (TypeError, ValueError):
        return False
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL):
            return True
    return False


def _wake_on_signals(loop: asyncio.AbstractEventLoop) -> bool:
    """Let a signal wake the loop from its wait: the signal's number is
    written to the loop's self-pipe, as loop.add_signal_handler() does,
    without the checks of the callback that import inspect (5 ms).  True
    when the wakeup descriptor is ours to take back after the loop."""
    wake = getattr(loop, "_csock", None)
    if wake is not None:
        signal.set_wakeup_fd(wake.fileno())
        return True
    for sig in _SIGNALS:
        loop.add_signal_handler(sig, _noop)
    return False


async def _await(value: Any) -> Any:
    _state.watch_from(asyncio.current_task())
    # the work is _on_signal's, run where the signal finds the script, even
    # in a loop that never awaits
    _Ran.wakeup = _wake_on_signals(asyncio.get_running_loop())
    for sig in _SIGNALS:
        signal.signal(sig, _on_signal)
    # _signal's functions: signal's try the handler before asyncio's as an
    # enum member first, whose error message is the handler's repr, made
    # from the main task's (inspect again)
    _signal.signal(signal.SIGINT, _on_sigint(_signal.getsignal(signal.SIGINT)))
    return await value


def _call_main(main: Callable[..., Any], args: Sequence[str]) -> None:
    """Run main once under asyncio; exceptions propagate."""
    _Ran.main_ran = True
    if _takes_args(main):
        result = main(list(args))
    else:
        result = main()
    if type(result) is types.CoroutineType or inspect.isawaitable(result):
        try:
            asyncio.run(_await(result))
        finally:
            if _Ran.wakeup:
                # the loop and its self-pipe are gone, as asyncio's close
                # leaves it when it removes its own handlers
                signal.set_wakeup_fd(-1)
                _Ran.wakeup = False
            _catch_signals()    # asyncio's end put SIGINT's default back


def _cleanup() -> bool:
    """Stop every service and terminate every machine the script's
    deployments created, unless --keep; False when a run failed (a service
    died on its own: the core has reported it)."""
    interrupted = False
    ok = True
    if _state.mode == "build":
        _evalcache().pause()
    _Ran.cleaning = True
    for d in _state.deployments:
        # the later rounds first: they share the first one's state file
        for run in reversed(d._runs()):
            try:
                if not run.finish():
                    ok = False
            except KeyboardInterrupt:
                # finish() ran to its end with the GIL released; the Ctrl-C
                # that came meanwhile must not skip the other runs
                interrupted = True
    if interrupted:
        raise KeyboardInterrupt
    return ok


def _at_deploy(mode: str, d: Optional[Deployment]) -> int:
    """What build, plan and graph do with the deployment at the first deploy()."""
    if d is None:
        _hydro.report("error", "'%s' declared no deployment: nothing to %s; create "
                      "one with hydro.Deployment() and call its deploy()"
                      % (_display(_state.config), mode))
        return 1
    opts = _hydro.options()
    if mode == "plan":
        try:
            _hydro.plan(d._model, bool(opts["json"]))
        except _hydro.ModelError as e:
            _hydro.report("error", str(e))
            return 1
    elif mode == "graph":
        sys.stdout.write(d._model.graph(opts["format"]))
    elif mode == "build":
        _evalcache().commit(_state.config, d._model)
        try:
            _hydro.build(d._model)
        except _hydro.ModelError as e:
            _hydro.report("error", str(e))
            return 1
    sys.stdout.flush()
    return 0


def _guarded(body: Callable[[], None]) -> int:
    """Run body, clean up, and turn what it raised into an exit status."""
    stopped: Optional[Deployment] = None
    status = 0
    clean = True
    try:
        try:
            body()
        finally:
            clean = _cleanup()
    except _StopAtDeploy as e:
        stopped = e.deployment
    except _Signalled as e:
        return 128 + e.sig
    except KeyboardInterrupt:
        sys.stdout.flush()
        _hydro.report("error", "interrupted")
        return 130
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        sys.stderr.write("%s\n" % e.code)
        return 1
    except BaseException as e:  # noqa: the script's exception, whatever it is
        if _state.signal:
            return 128 + _state.signal
        if _state.failed:
            # the core said which service died; main() was stopped for it
            _hydro.report("note", "main() was cancelled, as a service died")
            return 1
        _report_exception(e)
        status = 1
    if _state.signal:
        return 128 + _state.signal
    if status == 0 and (not clean or _state.failed):
        status = 1
    if status == 0 and _state.mode != "run":
        if stopped is None and _state.deployments:
            stopped = _state.deployments[0]
        status = _at_deploy(_state.mode, stopped)
    return status


def run_config(path: str, mode: str) -> int:
    """``hydro MODE path``: evaluate the script and run its main()."""
    _state.mode = mode
    _state.config = path
    _state.dir = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, _state.dir)
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        _hydro.report("error", "cannot read '%s': %s" % (path, e.strerror))
        return 1
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        sys.stderr.write("".join(traceback.format_exception_only(type(e), e)))
        _hydro.report("error", "%s:%s:%s: %s" % (_display(e.filename or path),
                                                 e.lineno or 0, e.offset or 0, e.msg))
        return 1
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    args = list(sys.argv[1:])
    _catch_signals()
    if mode == "build":
        _evalcache().begin(mode)

    def body() -> None:
        exec(code, module.__dict__)
        # main ran already: through hydro.run(main), or the script's own
        # asyncio.run(main()) under `if __name__ == "__main__":`
        if _Ran.main_ran or any(d._run is not None for d in _state.deployments):
            return
        main = module.__dict__.get("main")
        if main is None:
            if not _state.deployments:
                raise Error("%s defines no main(); write 'async def main():' and build "
                            "a hydro.Deployment() in it" % _display(path))
            return
        if not callable(main):
            raise Error("%s: main is a %s, not a function"
                        % (_display(path), type(main).__name__))
        _call_main(main, args)

    # the hydro binary checks the -D the script did not read
    return _guarded(body)


def leave() -> None:
    """What the interpreter's end does that a script can see, for
    hydro-python, which then exits without tearing every module down: the
    threads the script started that are not daemons joined, its atexit
    functions run, the files it left open flushed, then stdout and
    stderr."""
    threading = sys.modules.get("threading")
    try:
        if threading is not None:
            threading._shutdown()
    except BaseException:  # noqa: as the interpreter's end does: said, passed
        sys.stderr.write("Exception ignored on threading shutdown:\n")
        traceback.print_exc()
    import atexit
    atexit._run_exitfuncs()
    import gc
    import io
    # by their type: isinstance() would also ask every other object its
    # __class__ (some 14 000 of them: 3 ms)
    kinds = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)
    files = [f for f in gc.get_objects() if issubclass(type(f), kinds)]
    # text first (what it flushes goes to its buffer), stdout and stderr last
    files.sort(key=lambda f: (f in (sys.stdout, sys.stderr), not isinstance(f, io.TextIOWrapper)))
    for f in files:
        try:
            if not f.closed:
                f.flush()
        except Exception:  # noqa: as the interpreter's end does, unsaid
            pass


def _parse_argv(argv: List[str]) -> List[str]:
    """Read hydro's options from a plain python3 command line: -D name=value,
    --keep, and '--' before the script's own arguments."""
    params = []
    keep = strict = False
    rest: List[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i + 1:])
            break
        if a == "-D" and i + 1 < len(argv):
            a = "-D" + argv[i + 1]
            i += 1
        if a.startswith("-D"):
            params.append(a[2:])
        elif a == "--keep":
            keep = True
        elif a == "--strict-params":
            strict = True
        else:
            rest.append(a)
        i += 1
    try:
        # checked as the hydro binary checks -D: one rule for both
        _hydro.configure(params, keep, strict)
    except _hydro.ModelError as e:
        _hydro.report("error", str(e))
        sys.exit(2)
    return rest


def run_main(main: Callable[..., Any], args: Optional[Sequence[str]]) -> None:
    """hydro.run(main): under hydro, run main in place; under plain python3,
    read the command line, run, clean up and exit with hydro's status."""
    if _hydro.embedded():
        _call_main(main, list(sys.argv[1:]) if args is None else list(args))
        return
    rest = _parse_argv(list(sys.argv[1:]))
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file:
        _state.config = main_file
        _state.dir = os.path.dirname(os.path.abspath(main_file))
    _catch_signals()
    status = _guarded(lambda: _call_main(main, rest if args is None else list(args)))
    _hydro.wait_ops()
    if status == 0:
        try:
            _hydro.check_params(True)
        except _hydro.ModelError as e:
            _hydro.report("error", str(e))
            status = 1
    sys.stdout.flush()
    sys.exit(status)
