"""Deploy Hydroflow programs and other processes from a Python script.

A config script builds a :class:`Deployment`: hosts to run on, services
placed on them, and connections from an output port of one service to an
input port of another.  ``await deployment.deploy()`` builds, launches,
wires and starts everything; the script can then read the services' logs,
stop them and wait for them::

    from hydro import Deployment

    async def main():
        deployment = Deployment()
        host = deployment.Localhost()
        server = deployment.Hydroflow(src="src/echo_server.hf", on=host)
        client = deployment.Hydroflow(src="src/echo_client.hf", on=host)
        client.ports.outbound.connect(server.ports.inbound)
        server.ports.outbound.connect(client.ports.inbound)
        await deployment.deploy()
        async for line in client.stdout():
            print(line)

Run it with ``hydro run echo.hydro.py``, or with plain ``python3`` when the
script ends with ``hydro.run(main)``.  docs/python.md is the full reference.
"""

from __future__ import annotations

import asyncio
import collections
import os
import socket
import sys
from typing import (Any, Awaitable, Callable, Deque, Dict, Iterator, List,
                    Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union)

try:
    from . import _hydro
except ImportError as _e:
    # outside hydro run: the C half is _hydro.so, which make install puts
    # beside this file; in a build tree it is under build/obj
    def _from_build_tree() -> Any:
        import importlib.util
        top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))))
        so = os.path.join(top, "build", "obj", "lang", "python", "_hydro.so")
        spec = importlib.util.spec_from_file_location(__name__ + "._hydro", so)
        if not os.path.isfile(so) or spec is None or spec.loader is None:
            raise ImportError(
                "the hydro package's C half (hydro._hydro) is not installed beside %s; "
                "run the script with 'hydro run SCRIPT', or build and install hydro "
                "('make && make install') to use the package from python3"
                % os.path.dirname(os.path.abspath(__file__))) from None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        return mod
    _hydro = _from_build_tree()

class _Json:
    """json, imported when first used: most runs never do (a few ms)"""

    def __getattr__(self, name: str) -> Any:
        import json
        return getattr(json, name)


json_mod = _Json()

__all__ = [
    "Deployment", "Host", "LocalHost", "SshHost", "GcpMachine", "GCPNetwork",
    "GcpNetwork",
    "Service", "HydroflowService", "CrateService", "ProcessService", "ScriptService",
    "ClientPort", "ServerPort", "PortSink", "PortSource",
    "Target", "Port", "Ports", "MergedPort", "TaggedPort", "Demux", "Null",
    "LogStream", "ExitCode", "demux", "null", "param", "run",
    "Error", "ConfigError", "PortError", "ParamError", "NotAvailableError",
    "BuildError", "DeployError", "ServiceError",
]

# ---------------------------------------------------------------------------
# errors


class Error(Exception):
    """Base class of every error the hydro API raises.

    The message names the script line that made the call, and for a
    connection both of its ends."""


class ConfigError(Error):
    """A call declared something that cannot work: a file that does not
    exist, a bad argument, a name given twice."""


class PortError(ConfigError):
    """A port was misused: an unknown port name, an input connected to an
    input, an output to an output, a connection made twice."""


class ParamError(ConfigError):
    """A ``-D name=value`` parameter cannot be read as the type of its
    default."""


class NotAvailableError(Error):
    """The script asked for something this hydro cannot do yet (a backend
    that is not built in)."""


class BuildError(Error):
    """Something declared cannot be built."""


class DeployError(Error):
    """Building, provisioning, launching, wiring or starting failed."""


class ServiceError(Error):
    """Stopping or waiting for a service or a host failed."""


class _StopAtDeploy(BaseException):
    """Raised by deploy() under ``hydro build|plan|graph``: the script is
    evaluated up to its first deploy() and no further.  A BaseException, so
    that a script's ``except Exception`` does not swallow it."""

    def __init__(self, deployment: "Deployment") -> None:
        super().__init__("stopped at deploy()")
        self.deployment = deployment


# ---------------------------------------------------------------------------
# the state of one script run

_PKG_DIR = os.path.dirname(__file__) + os.sep


class _State:
    """What the runner (hydro._runner) and the API share for one run."""

    def __init__(self) -> None:
        self.mode = "run"            # run, build, plan, graph
        self.config = "<script>"     # the script's path, for messages
        # relative paths in the script are against its directory
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        self.dir = os.path.dirname(os.path.abspath(main_file)) if main_file else os.getcwd()
        self.deployments: List[Deployment] = []
        self.stopped_at: Optional[Deployment] = None
        # the task to cancel when the run must stop: main()'s, else the
        # first to call deploy()
        self.main_task: Optional["asyncio.Task[Any]"] = None
        self.failed = False     # a service died that may not: main() was cancelled
        self.signal = 0         # the SIGTERM or SIGHUP that stops the run

    def watch_from(self, task: Optional["asyncio.Task[Any]"]) -> None:
        if task is not None and (self.main_task is None or self.main_task.done()):
            self.main_task = task

    def stop_main(self) -> bool:
        """Cancel the script's main task, so that its ``finally`` blocks run;
        False when there is none running."""
        task = self.main_task
        if task is None or task.done():
            return False
        # through the loop's self-pipe: this may run in a signal handler
        task.get_loop().call_soon_threadsafe(task.cancel)
        return True

    def watch(self, run: "_hydro.Run") -> None:
        """Stop the script when a service of run dies that may not."""
        loop = asyncio.get_running_loop()

        def died() -> None:
            self.failed = True
            self.stop_main()

        def done(ok: bool, failed: Any, at: Optional[str] = None) -> None:
            if ok and failed:
                try:
                    loop.call_soon_threadsafe(died)
                except RuntimeError:
                    pass    # the loop is closed: the script has ended
        run.watch(done)


_state = _State()


def _display(path: str) -> str:
    """A path as messages show it: relative to the current directory when
    it is below it."""
    if not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _where(depth: int = 1) -> str:
    """``FILE:LINE`` of the first caller outside this package."""
    f: Any = sys._getframe(depth)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f = f.f_back
    if f is None:
        return _display(_state.config)
    return "%s:%d" % (_display(f.f_code.co_filename), f.f_lineno)


def _model_call(cls: type, where: Optional[str], fn: Callable[..., Any], *args: Any,
                **kwargs: Any) -> Any:
    """Call into the model, declaring from ``where`` (what the call adds
    records it), turning its errors into ``cls`` at ``where``; with no
    ``where``, the model's message names the lines itself."""
    model = getattr(fn, "__self__", None)
    if where is not None and isinstance(model, _hydro.Model):
        model.set_where(where)
    try:
        return fn(*args, **kwargs)
    except _hydro.ModelError as e:
        raise cls("%s: %s" % (where, e) if where else str(e)) from None


def _declaring(d: "Deployment", where: str) -> None:
    """Before a declaration: once a deploy() has deployed what was declared
    (its run reads that model from other threads, which must not change
    under it), what follows is declared in a new round, which the next
    deploy() deploys beside it."""
    if d._rounds[-1].run is not None:
        d._new_round()


def _current(d: "Deployment", svc: "Service", where: str, what: str,
             fix: str = "declare the connection before that deploy()") -> None:
    """Refuse a declaration about a service an earlier deploy() deployed:
    what is deployed stays as it is."""
    if svc._round is not d._rounds[-1]:
        raise NotAvailableError(
            "%s: %s: '%s' runs as an earlier deploy() wired it, and a later one "
            "deploys only what was declared since, beside it; %s"
            % (where, what, svc.name, fix))


def _strings(value: Any, what: str, where: str) -> List[str]:
    """A list of str from a list (or tuple) of str or os.PathLike."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ConfigError("%s: %s must be a list of strings, not %s"
                          % (where, what, type(value).__name__))
    out = []
    for item in value:
        if isinstance(item, os.PathLike):
            item = os.fspath(item)
        if not isinstance(item, str):
            raise ConfigError("%s: %s must be a list of strings; %r is of type %s"
                              % (where, what, item, type(item).__name__))
        out.append(item)
    return out


def _env(value: Optional[Mapping[str, Any]], where: str) -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError("%s: env must be a dict of strings" % where)
    return {str(k): str(v) for k, v in value.items()}


# ---------------------------------------------------------------------------
# futures completed from the core's threads

_T = TypeVar("_T")


async def _core(start: Callable[[Callable[..., None]], None],
                cancel: Optional[Callable[[], None]] = None,
                where: str = "") -> Any:
    """Start core work and await it.

    ``start(done)`` begins the work; a core thread calls ``done(ok, value,
    where)`` when it ends, which completes an asyncio future on this loop through
    call_soon_threadsafe.  Cancelling the awaiting task calls ``cancel()``,
    which cancels the core work."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any, at: Optional[str]) -> None:
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            # a step that failed on a service names the line declaring it
            at = at or where
            msg = str(value)
            fut.set_exception(DeployError("%s: %s" % (at, msg) if at else msg))

    def done(ok: bool, value: Any, at: Optional[str] = None) -> None:
        try:
            loop.call_soon_threadsafe(settle, ok, value, at)
        except RuntimeError:
            pass    # the loop is closed: nobody awaits this any more

    start(done)
    try:
        return await fut
    except asyncio.CancelledError:
        if cancel is not None:
            cancel()
        raise


# ---------------------------------------------------------------------------
# parameters

# the types hydro.param() reads, by the type of the default (bool first: a
# bool is an int); the reading itself is the core's (src/cli.h)
_PARAM_TYPES = ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"))


def param(name: str, default: _T) -> _T:
    """The value of ``-D name=value``, read as the type of ``default``;
    ``default`` itself when the parameter was not given.

    ``int`` accepts ``42``, ``-1``, ``0x2a``; ``float`` accepts ``2.5``,
    ``1e3``; ``bool`` accepts 1/0, true/false, yes/no, on/off; ``str``
    takes the text as it is; a default of ``None`` gives the text or None.
    A value that does not read raises :class:`ParamError`::

        n = hydro.param("clients", 2)      # hydro run -D clients=8 x.py
    """
    kind = "str" if default is None else next(
        (k for t, k in _PARAM_TYPES if isinstance(default, t)), None)
    if kind is None:
        raise ParamError("%s: hydro.param('%s', ...): a default is a str, int, float, "
                         "bool or None, not %s" % (_where(2), name,
                                                   type(default).__name__))
    value: Optional[_T] = _model_call(ParamError, _where(2), _hydro.param, name, kind)
    return default if value is None else value


# ---------------------------------------------------------------------------
# hosts


class Host:
    """A machine that services run on, made by a Deployment's host methods
    (Localhost, SshHost, GcpMachine).

    A host class may also be called on its own, as the seed's scripts do
    (``GcpMachine(project=..., zone=..., type=...)`` from ``hydro.gcp``):
    the host then joins the deployment of the first service placed on it.
    The settings each backend takes are the core's to check."""

    backend = "local"

    def __init__(self, *args: Any, name: Optional[str] = None, **settings: Any) -> None:
        self.deployment: Optional["Deployment"] = None
        #: the host's name in the deployment (``local1``, or the one given)
        self.name = name or ""
        self._declared: Optional[Tuple[Tuple[Any, ...], Dict[str, Any], Optional[str],
                                       str]] = (args, settings, name, _where())
        # its settings as declared, for a later deploy() round to declare it again
        self._settings: Tuple[List[str], Dict[str, Optional[str]]] = ([], {})
        self._terminated = False

    def __repr__(self) -> str:
        return "<%s %s>" % (type(self).__name__, self.name)

    async def terminate(self) -> None:
        """Stop every service on this host and give the machine back (a
        cloud VM is deleted; a local host only loses its processes).  Does
        nothing before deploy() or when already terminated."""
        d = self.deployment
        if d is None or d._run is None or self._terminated:
            return
        where = _where()
        # each round that placed services on it, the later ones first
        for rnd in reversed(d._rounds):
            if rnd.run is None or self.name not in rnd.hosts:
                continue
            live: _hydro.Run = rnd.run
            await _core(lambda done: live.terminate_host(self.name, done), None, where)
        self._terminated = True


class LocalHost(Host):
    """This machine: services run as child processes of hydro."""

    backend = "local"


class SshHost(Host):
    """A machine reached over SSH: ``host`` (by position or name), ``user``,
    ``port``, ``key``."""

    backend = "ssh"


class GcpMachine(Host):
    """A Google Compute Engine VM, created by deploy() and deleted by
    terminate(): ``project`` and ``zone`` (by position or name), ``type``,
    ``image``, ``region``, ``network``, ``user``."""

    backend = "gcp"


# for Deployment's methods, where GcpMachine names one of them
_GcpMachine = GcpMachine


class GCPNetwork:
    """Hydro Deploy's name for the VPC network GCP machines are placed in:
    ``hydro.GCPNetwork(project=..., existing="my-vpc")`` places them in the
    network ``my-vpc``; ``existing=None``, in the project's ``default``
    network (hydro makes no network of its own).  Making one reaches
    nothing; it is read when a :meth:`Deployment.GCPComputeEngineHost`
    is given it."""

    def __init__(self, project: str, existing: Optional[str] = None) -> None:
        self.project = project
        self.existing = existing

    def __repr__(self) -> str:
        return "GCPNetwork(project=%r, existing=%r)" % (self.project, self.existing)


#: Hydro Deploy's later spelling of :class:`GCPNetwork`
GcpNetwork = GCPNetwork


# ---------------------------------------------------------------------------
# ports


class Port:
    """A named port of a service: ``svc.ports.NAME``.

    A ``.hf`` program's ports are those of its module header, checked when
    the script names them; a crate's ports are named by use."""

    def __init__(self, service: "Service", name: str) -> None:
        self.service = service
        self.name = name

    def __repr__(self) -> str:
        return "<Port %s.%s>" % (self.service.name, self.name)

    @property
    def direction(self) -> str:
        """``"input"``, ``"output"``, or ``"unknown"`` for a crate's port
        not connected yet."""
        return str(self.service._round.model.port(self.service.name, self.name)[1])

    @property
    def type(self) -> Optional[str]:
        """The Rust type of a ``.hf`` port (``"(EchoMsg, SocketAddr)"``), or
        None."""
        t = self.service._round.model.port(self.service.name, self.name)[3]
        return None if t is None else str(t)

    def connect(self, to: "Sink") -> None:
        """Send what this output port emits to ``to``: an input port, its
        ``.merge()``, a :func:`demux`, or :func:`null` to discard it.

        Connecting one output to several inputs broadcasts; several outputs
        to one input merge.  Misuse raises :class:`PortError` naming both
        ends and the script line."""
        _connect(self, -1, to, _where())

    #: Hydro Deploy's name for :meth:`connect`
    send_to = connect

    def merge(self) -> "MergedPort":
        """This input port as one of several senders' destination, as in
        Hydro Deploy: ``a.ports.x.send_to(p.ports.fanin.merge())``."""
        return MergedPort(self)

    def tagged(self, tag: int) -> "TaggedPort":
        """This output port with every message tagged ``tag`` (a u32) on the
        receiving side: ``c.ports.x.tagged(7).send_to(p.ports.fanin.merge())``."""
        if not isinstance(tag, int) or isinstance(tag, bool):
            raise PortError("%s: tagged() takes a whole number, not %r" % (_where(), tag))
        return TaggedPort(self, tag)


class MergedPort:
    """An input port given as ``.merge()``: one of several senders' slot."""

    def __init__(self, port: Port) -> None:
        self.port = port

    def __repr__(self) -> str:
        return "<MergedPort %s.%s>" % (self.port.service.name, self.port.name)


class TaggedPort:
    """An output port given as ``.tagged(n)``."""

    def __init__(self, port: Port, tag: int) -> None:
        self.port = port
        self.tag = tag

    def connect(self, to: "Sink") -> None:
        """As :meth:`Port.connect`, with the tag."""
        _connect(self.port, self.tag, to, _where())

    send_to = connect

    def __repr__(self) -> str:
        return "<TaggedPort %s.%s tag %d>" % (self.port.service.name, self.port.name,
                                              self.tag)


class Null:
    """``hydro.null()``: a sink that discards what it gets, or a source
    that never sends."""

    def connect(self, to: Union[Port, MergedPort]) -> None:
        """Connect nothing to an input port, so that a program that opens it
        finds it connected."""
        where = _where()
        port = to.port if isinstance(to, MergedPort) else to
        if not isinstance(port, Port):
            raise PortError("%s: hydro.null() connects to an input port, not %r"
                            % (where, to))
        d = port.service.deployment
        _declaring(d, where)
        _current(d, port.service, where, "hydro.null() cannot connect to it")
        _model_call(PortError, where, d._model.connect, None, None,
                    port.service.name, port.name, merge=isinstance(to, MergedPort))

    send_to = connect

    def __repr__(self) -> str:
        return "hydro.null()"


class Demux:
    """``hydro.demux({key: port})``: one output sending each message to the
    port of the key the program chose (Hydro Deploy's fan-out)."""

    def __init__(self, targets: Mapping[int, "Sink"]) -> None:
        self.targets = dict(targets)

    def __repr__(self) -> str:
        return "hydro.demux(%r)" % (self.targets,)


Sink = Union[Port, MergedPort, Demux, Null]


def null() -> Null:
    """A port that discards what is sent to it and never sends anything."""
    return Null()


def demux(targets: Mapping[int, Sink]) -> Demux:
    """Fan one output out by key: ``p.ports.out.send_to(hydro.demux({0: a.ports.x,
    1: b.ports.x}))``.  Keys are whole numbers from 0 to 4294967295."""
    where = _where()
    if not isinstance(targets, Mapping) or not targets:
        raise PortError("%s: hydro.demux() takes a non-empty dict from keys to ports"
                        % where)
    for key in targets:
        if not isinstance(key, int) or isinstance(key, bool):
            raise PortError("%s: hydro.demux() keys are whole numbers, not %r"
                            % (where, key))
    return Demux(targets)


def _connect(src: Port, tag: int, to: Any, where: str, key: int = -1) -> None:
    d = src.service.deployment
    _declaring(d, where)
    _current(d, src.service, where, "cannot connect '%s.%s'" % (src.service.name, src.name))
    model = d._model
    if isinstance(to, Demux):
        if key != -1:
            raise PortError("%s: a hydro.demux() cannot hold another one" % where)
        for k, sink in to.targets.items():
            _connect(src, tag, sink, where, k)
        return
    if isinstance(to, Null):
        _model_call(PortError, where, model.connect, src.service.name, src.name,
                    None, None, key=key, tag=tag)
        return
    merge = isinstance(to, MergedPort)
    port = to.port if merge else to
    if not isinstance(port, Port):
        raise PortError("%s: cannot connect '%s.%s' to %r: connect to a port "
                        "(svc.ports.NAME), its .merge(), hydro.demux({...}) or "
                        "hydro.null()" % (where, src.service.name, src.name, to))
    if port.service.deployment is not src.service.deployment:
        raise PortError("%s: cannot connect '%s.%s' to '%s.%s': they belong to two "
                        "different deployments" % (where, src.service.name, src.name,
                                                   port.service.name, port.name))
    _current(d, port.service, where, "cannot connect '%s.%s' to '%s.%s'"
             % (src.service.name, src.name, port.service.name, port.name))
    _model_call(PortError, where, model.connect, src.service.name, src.name,
                port.service.name, port.name, key=key, tag=tag, merge=merge)


class Ports:
    """The ports of a service, by attribute (``svc.ports.inbound``) or by
    key (``svc.ports["inbound"]``)."""

    def __init__(self, service: "Service") -> None:
        self._service = service

    def __getattr__(self, name: str) -> Port:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._get(name, _where())

    def __getitem__(self, name: str) -> Port:
        return self._get(name, _where())

    def _get(self, name: str, where: str) -> Port:
        s = self._service
        if s._round.run is not None and name not in self.__dir__():
            # a crate's port is made by use: not on one that runs
            raise NotAvailableError("%s: '%s' has no port '%s' and was deployed "
                                    "already: a port cannot join it now"
                                    % (where, s.name, name))
        _model_call(PortError, where, s._round.model.port, s.name, name)
        return Port(s, name)

    def __iter__(self) -> Iterator[Port]:
        s = self._service
        return iter([Port(s, p[0]) for p in s._round.model.ports(s.name)])

    def __dir__(self) -> List[str]:
        s = self._service
        return [str(p[0]) for p in s._round.model.ports(s.name)]

    def __repr__(self) -> str:
        return "<Ports of %s: %s>" % (self._service.name, ", ".join(self.__dir__()))


# ---------------------------------------------------------------------------
# logs


async def _held_echo(run: Any, work: Awaitable[Any]) -> Any:
    """Await work with the services' lines held back from the terminal,
    and until the script's step after it has run: a stream the script opens
    then (``client.stdout()`` just after ``await deploy()``) is the
    script's from its first line, which the terminal then never shows."""
    run.hold_echo()
    try:
        return await work
    finally:
        asyncio.get_running_loop().call_soon(run.release_echo)


class LogStream:
    """The lines a service prints on stdout or stderr, as an async iterator.

    Lines come from the first one the service printed, even when the
    stream is opened late: hydro keeps them from the start.  Each stream
    reads on its own, so several readers each see every line.  The lines
    have no trailing newline.  While a stream is open, its service's lines
    on that stream are the script's: hydro no longer shows them on the
    terminal (the other stream still is).  The iteration ends when the
    service has exited and every line was read::

        async for line in svc.stdout():
            print(line)
    """

    def __init__(self, service: "Service", stream: str) -> None:
        self._service = service
        self._stream = stream
        self._reader: Any = None
        self._lines: Deque[str] = collections.deque()
        self._eof = False
        self._closed = False
        # subscribe now, as Hydro Deploy does: from here the stream's lines
        # are the script's and the terminal no longer shows them
        if service._round.run is not None:
            self._open()

    def __aiter__(self) -> "LogStream":
        return self

    def __await__(self) -> Any:
        """``await svc.stdout()``, Hydro Deploy's form: the stream itself."""
        async def itself() -> "LogStream":
            return self
        return itself().__await__()

    def _open(self) -> Any:
        if self._reader is None:
            run = self._service._round.run
            if run is None:
                raise Error("%s: %s.%s() has nothing to read before deploy(); "
                            "await deployment.deploy() first"
                            % (_where(), self._service.name, self._stream))
            self._reader = run.logs(self._service.name, self._stream)
        return self._reader

    async def __anext__(self) -> str:
        while True:
            if self._lines:
                return self._lines.popleft()
            if self._eof or self._closed:
                raise StopAsyncIteration
            reader = self._open()
            batch = reader.read()
            if batch is None:
                self._eof = True
            elif batch:
                self._lines.extend(batch)
            else:
                await self._readable(reader.fileno())

    async def _readable(self, fd: int) -> None:
        # the event loop watches the reader's fd: it never blocks on logs
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await fut
        finally:
            loop.remove_reader(fd)

    async def aclose(self) -> None:
        """Stop reading (what ``async with`` helpers such as aiostream's
        call when they are done); the service runs on.  The stream's lines
        stay the script's, off the terminal, until the stream is closed or
        collected: as in Hydro Deploy, a stream kept in a variable keeps
        them after the loop that read it."""
        self._closed = True

    def close(self) -> None:
        """Stop reading and free the stream: the terminal shows the
        service's lines on it again."""
        self._closed = True
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __del__(self) -> None:
        if self._reader is not None:
            try:
                self._reader.close()
            except Exception:
                pass


# ---------------------------------------------------------------------------
# services


class Service:
    """A program placed on a host.  Made by a Deployment's service methods
    (Hydroflow, HydroflowCrate, Process), never directly."""

    def __init__(self, deployment: "Deployment", name: str, host: Host) -> None:
        self.deployment = deployment
        #: the service's name in the deployment (from its source, or given)
        self.name = name
        #: the host it runs on
        self.host = host
        #: its ports: ``svc.ports.NAME``
        self.ports = Ports(self)
        self._exit_code: Optional[int] = None
        # the deploy() round it is declared in: its model, then its run
        self._round: _Round = deployment._rounds[-1]

    def __repr__(self) -> str:
        return "<%s %s on %s>" % (type(self).__name__, self.name, self.host.name)

    def stdout(self) -> LogStream:
        """The service's stdout lines, from the first one it printed."""
        return LogStream(self, "stdout")

    def stderr(self) -> LogStream:
        """The service's stderr lines, from the first one it printed."""
        return LogStream(self, "stderr")

    async def stop(self) -> None:
        """Ask the service to stop (``stop`` on its stdin for a Hydroflow
        program, SIGTERM for a process), then force it after its stop
        timeout; returns once it has exited.  Does nothing before deploy()."""
        run = self._round.run
        if run is None:
            return
        where = _where()
        live: _hydro.Run = run
        code = await _core(lambda done: live.stop_service(self.name, done), None, where)
        if isinstance(code, int) and code >= 0:
            self._exit_code = code

    async def wait(self) -> int:
        """Wait for the service to exit and return its exit status (128+N
        when killed by signal N).  Cancelling the wait leaves the service
        running."""
        run = self._round.run
        where = _where()
        if run is None:
            raise Error("%s: cannot wait for '%s' before deploy()" % (where, self.name))
        live: _hydro.Run = run
        code = await _core(lambda done: live.wait_service(self.name, done), None, where)
        self._exit_code = int(code)
        return self._exit_code

    @property
    def exit_code(self) -> Optional["ExitCode"]:
        """The exit status once :meth:`wait` or :meth:`stop` has seen the
        service exit, else None.  It is an ``int`` that can also be called
        and awaited, Hydro Deploy's form: ``await svc.exit_code()``."""
        return None if self._exit_code is None else ExitCode(self._exit_code)


class ExitCode(int):
    """A service's exit status: an ``int``; calling it gives an awaitable of
    the same ``int``, so that Hydro Deploy's ``await svc.exit_code()`` reads
    it too."""

    def __call__(self) -> Awaitable[int]:
        async def code() -> int:
            return int(self)
        return code()


class ScriptService(Service):
    """The config script itself taking part in the deployment (Hydro
    Deploy's ``CustomService``): no process runs for it.  Each
    :meth:`client_port` is one connection between the script and a
    service; after ``deploy()``, ``await port.server_port()`` gives its end,
    which the script turns into a sink or a source of messages::

        me = deployment.CustomService(on=host, external_ports=[])
        out = me.client_port()
        out.send_to(server.ports.inbound.merge())
        back = me.client_port()
        server.ports.outbound.send_to(back)
        await deployment.deploy()
        sink = await (await out.server_port()).into_sink()
        await sink.send(b"...")
        async for frame in await (await back.server_port()).into_source():
            ...
    """

    def __init__(self, deployment: "Deployment", name: str, host: Host) -> None:
        super().__init__(deployment, name, host)
        self._nports = 0

    def client_port(self) -> "ClientPort":
        """A new port of the script, for one connection: ``send_to`` a
        service's input (the script sends), or given as a sink to a
        service's output (the script receives)."""
        where = _where()
        _declaring(self.deployment, where)
        _current(self.deployment, self, where, "no new client_port() of '%s'" % self.name,
                 "make a new CustomService for the ports declared after it")
        self._nports += 1
        name = "port%d" % self._nports
        _model_call(PortError, where, self._round.model.port, self.name, name)
        return ClientPort(self, name)


class ClientPort(Port):
    """A port of the script (:meth:`ScriptService.client_port`): an output
    when it sends to a service, an input when a service sends to it."""

    def __init__(self, service: "Service", name: str) -> None:
        super().__init__(service, name)
        self._end: Optional[ServerPort] = None

    async def server_port(self) -> "ServerPort":
        """The script's end of the connection, after ``deploy()``: the
        same object each time."""
        if self._end is None:
            run = self.service._round.run
            where = _where()
            if run is None:
                raise Error("%s: %s.server_port() comes after await deployment.deploy()"
                            % (where, self.name))
            value, addr, fd = _model_call(DeployError, where, run.participant_port,
                                          self.service.name, self.name)
            self._end = ServerPort(json_mod.loads(value), addr, fd)
        return self._end


class ServerPort:
    """Where a connection of the script is made: ``json()`` is Hydro
    Deploy's ServerPort of that address (``{"UnixSocket": PATH}``,
    ``{"TcpPort": "HOST:PORT"}``, or ``"Null"`` for :func:`null`);
    :meth:`into_sink` and :meth:`into_source` make the connection (the same
    one for both) and frame its messages as every wired connection does: a
    4-byte big-endian length, then the bytes."""

    def __init__(self, value: Any, addr: Optional[str], fd: int) -> None:
        self._value = value
        self._addr = addr
        self._fd = fd
        self._conn: Optional[Tuple[asyncio.StreamReader, asyncio.StreamWriter]] = None
        self._opening: Optional[asyncio.Future[Any]] = None

    def json(self) -> Any:
        """The ServerPort as Hydro Deploy gives it."""
        return self._value

    def __del__(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    async def _connect(self) -> Optional[Tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        if self._conn is not None or (self._fd < 0 and self._addr is None):
            return self._conn
        if self._opening is not None:
            # another task makes the connection: share it, or try again
            # once that one has failed
            await asyncio.shield(self._opening)
            return await self._connect()
        loop = asyncio.get_running_loop()
        opening = self._opening = loop.create_future()
        try:
            if self._fd >= 0:
                # an input: the sender connects to the socket hydro bound
                listener = socket.socket(fileno=self._fd)
                self._fd = -1
                listener.setblocking(False)
                try:
                    sock, _ = await loop.sock_accept(listener)
                finally:
                    listener.close()
                self._conn = await asyncio.open_connection(sock=sock, limit=_FRAME_LIMIT)
            elif self._addr is not None and self._addr.startswith("unix:"):
                self._conn = await asyncio.open_unix_connection(self._addr[5:],
                                                                limit=_FRAME_LIMIT)
            elif self._addr is not None:
                host, _, port = self._addr.rpartition(":")
                self._conn = await asyncio.open_connection(host.strip("[]"), int(port),
                                                           limit=_FRAME_LIMIT)
                sock = self._conn[1].get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        finally:
            self._opening = None
            opening.set_result(None)
        return self._conn

    async def into_sink(self) -> "PortSink":
        """A sink of messages: ``await sink.send(b"...")``."""
        conn = await self._connect()
        return PortSink(None if conn is None else conn[1])

    async def into_source(self) -> "PortSource":
        """The messages that arrive, as an async iterator of ``bytes``; it
        ends when the other end closes the connection."""
        conn = await self._connect()
        return PortSource(None if conn is None else conn[0])


# the reading buffer of a connection of the script
_FRAME_LIMIT = 1 << 20
# bytes a sink may hold unsent before send() waits for the receiver
_DRAIN_AT = 1 << 16
# bytes a source reads at once
_READ_SIZE = 1 << 16


class PortSink:
    """The sending end of a connection of the script."""

    def __init__(self, writer: Optional[asyncio.StreamWriter]) -> None:
        self._writer = writer

    async def send(self, data: bytes) -> None:
        """Send one message (at most 8 MiB); returns once it is handed to
        the connection, waiting while the receiver is behind."""
        if len(data) > _hydro.FRAME_MAX:
            raise Error("%s: a message is at most %d bytes, not %d"
                        % (_where(), _hydro.FRAME_MAX, len(data)))
        w = self._writer
        if w is None:
            return          # hydro.null(): discarded
        # one write a message (a send(2) each while the socket takes them);
        # drain only when the transport holds back: the receiver is behind
        w.write(len(data).to_bytes(4, "big") + data)
        if w.transport.get_write_buffer_size() > _DRAIN_AT:
            await w.drain()

    async def close(self) -> None:
        """Close the connection: the receiver sees its end."""
        w = self._writer
        self._writer = None
        if w is not None:
            w.close()
            try:
                await w.wait_closed()
            except OSError:
                pass


class PortSource:
    """The receiving end of a connection of the script: ``async for frame
    in source`` gives each message as ``bytes``."""

    def __init__(self, reader: Optional[asyncio.StreamReader]) -> None:
        self._reader = reader
        self._buf = bytearray()
        self._pos = 0

    def __aiter__(self) -> "PortSource":
        return self

    async def __anext__(self) -> bytes:
        r = self._reader
        if r is None:
            raise StopAsyncIteration
        while True:
            # the frames already read: no await, no call into the loop
            buf, pos = self._buf, self._pos
            if len(buf) - pos >= 4:
                n = int.from_bytes(buf[pos:pos + 4], "big")
                if n > _hydro.FRAME_MAX:
                    raise Error("a message of %d bytes arrived: more than the %d a "
                                "frame may have" % (n, _hydro.FRAME_MAX))
                if len(buf) - pos - 4 >= n:
                    self._pos = pos + 4 + n
                    return bytes(buf[pos + 4:pos + 4 + n])
            chunk = await r.read(_READ_SIZE)
            if not chunk:
                if len(buf) > pos:
                    raise Error("the connection closed in the middle of a message")
                raise StopAsyncIteration
            del buf[:pos]
            self._pos = 0
            buf += chunk


class HydroflowService(Service):
    """A ``.hf`` program that hydro compiles (or its ``standin``)."""


class CrateService(Service):
    """A Rust crate written for Hydro Deploy, built with cargo."""


class ProcessService(Service):
    """Any command; its ports reach it as HYDRO_PORT_<NAME> variables."""


class Target:
    """A make-style rule: ``cmd`` makes ``outputs`` from ``inputs`` and runs
    again only when an input changed."""

    def __init__(self, deployment: "Deployment", name: str) -> None:
        self.deployment = deployment
        self.name = name

    def __repr__(self) -> str:
        return "<Target %s>" % self.name


class _Round:
    """What one deploy() deploys: the model of the hosts, services and
    connections declared before it (and after the deploy() before), and the
    run deploying them.  Later rounds share the first run's state file."""

    def __init__(self, model: "_hydro.Model") -> None:
        self.model = model
        self.run: Optional[_hydro.Run] = None
        self.started = False
        self.hosts: List[str] = []     # the names of the hosts declared in it


HostArg = Optional[Host]
ReadyArg = Optional[Mapping[str, Union[str, Sequence[str]]]]


class Deployment:
    """A set of hosts, services, connections and targets, deployed together.

    Paths given to its methods are relative to the config script's
    directory.  Everything it started is stopped, and every machine it
    created terminated, when the script's main() returns or raises
    (unless ``hydro run --keep``)."""

    def __init__(self) -> None:
        self._dir = _state.dir
        self._model = _hydro.Model(self._dir, _display(_state.config))
        self._hosts: List[Host] = []
        self._services: List[Service] = []
        # the first round's run, once deployed
        self._run: Optional[_hydro.Run] = None
        self._default_host: Optional[Host] = None
        self._rounds: List[_Round] = [_Round(self._model)]
        _state.deployments.append(self)

    def __repr__(self) -> str:
        return "<Deployment: %d hosts, %d services>" % (len(self._hosts),
                                                       len(self._services))

    # -- rounds of deploy() --

    def _new_round(self) -> None:
        """Declare what follows in a new model, deployed by the next
        deploy() beside what runs; the names given so far stay taken."""
        model = _hydro.Model(self._dir, _display(_state.config))
        for h in self._hosts:
            model.reserve(True, h.name)
        for svc in self._services:
            model.reserve(False, svc.name)
        self._model = model
        self._rounds.append(_Round(model))

    def _runs(self) -> List[_hydro.Run]:
        """The runs of the rounds deployed, the first first."""
        return [r.run for r in self._rounds if r.run is not None]

    # -- hosts --

    def _add_host(self, cls: Type[Host], args: Sequence[Any], settings: Mapping[str, Any],
                  name: Optional[str], where: str) -> Any:
        _declaring(self, where)
        if name is not None and any(h.name == name for h in self._hosts):
            raise ConfigError("%s: there is already a host named '%s'" % (where, name))
        host = cls.__new__(cls)
        Host.__init__(host, name=name)
        pos = [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in args]
        # None reaches the model as such: it means "no value" (ttl=None: no
        # time to live) or "not given", as the model decides
        clean = {k: None if v is None else str(v) for k, v in settings.items()}
        host.name = str(_model_call(ConfigError, where, self._model.add_host, name,
                                    cls.backend, pos, clean))
        host.deployment = self
        host._declared = None
        # what a later round declares again to place services on it
        host._settings = (pos, clean)
        self._rounds[-1].hosts.append(host.name)
        self._hosts.append(host)
        return host

    def _host_in_round(self, host: Host, where: str) -> None:
        """A host of an earlier round, declared again in this one to take
        new services: the same machine (a local or SSH host: a machine a
        backend creates is not created twice)."""
        rnd = self._rounds[-1]
        if host.name in rnd.hosts:
            return
        if type(host).backend not in ("local", "ssh"):
            raise NotAvailableError(
                "%s: host '%s' (%s) was deployed by an earlier deploy(): services "
                "declared after it cannot join that machine yet; declare them before "
                "the first deploy(), or on a new host" % (where, host.name,
                                                           type(host).backend))
        pos, clean = host._settings
        _model_call(ConfigError, where, self._model.add_host, host.name,
                    type(host).backend, pos, clean)
        rnd.hosts.append(host.name)

    def Localhost(self, name: Optional[str] = None, *,
                  target: Optional[str] = None,
                  address: Optional[str] = None) -> LocalHost:
        """This machine: services run as local processes, built for
        ``target`` (default: this machine's; another runs under qemu-user),
        binding TCP on ``address`` (default 127.0.0.1; one that remote
        hosts reach, for their services to send to these)."""
        settings = {} if target is None else {"target": target}
        if address is not None:
            settings["address"] = address
        host: LocalHost = self._add_host(LocalHost, (), settings, name, _where())
        return host

    def SshHost(self, *args: Any, name: Optional[str] = None, **settings: Any) -> SshHost:
        """A machine reached over SSH: ``SshHost("10.0.0.5", user=, port=,
        key=)`` (docs/python.md lists the settings)."""
        h: SshHost = self._add_host(SshHost, args, settings, name, _where())
        return h

    def GcpMachine(self, *args: Any, name: Optional[str] = None,
                   **settings: Any) -> GcpMachine:
        """A Google Compute Engine VM: ``GcpMachine(project=, zone=, type=,
        image=, region=, network=, user=)`` (docs/python.md)."""
        h: GcpMachine = self._add_host(GcpMachine, args, settings, name, _where())
        return h

    def GCPComputeEngineHost(self, project: str, machine_type: str, image: str,
                             region: str, network: Optional[GCPNetwork] = None,
                             user: Optional[str] = None, *,
                             name: Optional[str] = None) -> _GcpMachine:
        """Hydro Deploy's name for :meth:`GcpMachine`, with its arguments:
        ``machine_type`` is the machine ``type``, ``region`` the ``zone``
        (Hydro Deploy's ``region`` names a zone, ``us-west1-a``),
        ``network`` a :class:`GCPNetwork` whose ``existing`` network is
        used (the project's ``default`` one when it is None).  Making it
        reaches nothing; ``deploy()`` provisions it as a GcpMachine."""
        where = _where()
        if network is not None and not isinstance(network, GCPNetwork):
            raise ConfigError("%s: network= takes a hydro.GCPNetwork(...), not %r"
                              % (where, network))
        settings = {"project": project, "zone": region, "type": machine_type,
                    "image": image, "user": user,
                    "network": network.existing if network is not None else None}
        h: _GcpMachine = self._add_host(_GcpMachine, (), settings, name, where)
        return h

    #: Hydro Deploy's later spelling of :meth:`GCPComputeEngineHost`
    GcpComputeEngineHost = GCPComputeEngineHost

    def _host(self, on: HostArg, where: str) -> Host:
        if on is None:
            if self._default_host is None:
                self._default_host = self._add_host(LocalHost, (), {}, None, where)
            self._host_in_round(self._default_host, where)
            return self._default_host
        if not isinstance(on, Host):
            raise ConfigError("%s: on= takes a host (deployment.Localhost(), ...), not %r"
                              % (where, on))
        if on.deployment is None and on._declared is not None:
            # a host made on its own joins here, declared where it was made
            args, settings, name, made = on._declared
            joined = self._add_host(type(on), args, settings, name, made)
            on.deployment, on.name, on._declared = self, joined.name, None
            self._hosts[-1] = on
        if on.deployment is not self:
            raise ConfigError("%s: host '%s' belongs to another deployment" % (where, on.name))
        self._host_in_round(on, where)
        return on

    def _add_service(self, cls: Callable[["Deployment", str, Host], Service], kind: str,
                     name: Optional[str], on: HostArg, src: Any,
                     cmd: Optional[List[str]], where: str) -> Any:
        _declaring(self, where)
        host = self._host(on, where)
        if isinstance(src, os.PathLike):
            src = os.fspath(src)
        if src is not None and not isinstance(src, str):
            raise ConfigError("%s: src must be a path, not %r" % (where, src))
        sname = _model_call(ConfigError, where, self._model.add_service, kind, name,
                            host.name, src, cmd)
        svc = cls(self, str(sname), host)
        self._services.append(svc)
        return svc

    def _common(self, svc: Service, where: str, args: Sequence[str],
                env: Optional[Mapping[str, Any]], cwd: Optional[str],
                needs: Sequence[Union[str, Target]],
                standin: Optional[Sequence[str]] = None,
                files: Sequence[str] = ()) -> None:
        if args:
            self._model.add_args(svc.name, _strings(args, "args", where))
        if env:
            self._model.set_env(svc.name, _env(env, where))
        if needs:
            names = [n.name if isinstance(n, Target) else n for n in needs]
            self._model.set_service(svc.name, needs=_strings(names, "needs", where))
        if cwd is not None:
            self._model.set_service(svc.name, cwd=os.fspath(cwd))
        if standin is not None:
            cmd = _strings(standin, "standin", where)
            if not cmd:
                raise ConfigError("%s: standin must name a command" % where)
            self._model.set_service(svc.name, standin=cmd)
        if files:
            _model_call(ConfigError, where, self._model.set_service, svc.name,
                        files=_strings(files, "files", where))

    # -- services --

    def Hydroflow(self, src: str, on: HostArg = None, args: Sequence[str] = (), *,
                  standin: Optional[Sequence[str]] = None,
                  env: Optional[Mapping[str, Any]] = None, cwd: Optional[str] = None,
                  needs: Sequence[Union[str, Target]] = (),
                  files: Sequence[str] = (),
                  name: Optional[str] = None,
                  display_id: Optional[str] = None) -> HydroflowService:
        """A Hydroflow program: the ``.hf`` file ``src``, compiled for
        ``on``'s machine and run there with ``args``.

        Its ports are those of the module header
        (``module main(input a: T, output b: U)``).  ``standin`` is a
        command that speaks the port protocol, run in place of the compiled
        program (the ``.hf`` is still read for its ports).  ``files``: files
        it needs beside it, relative to the script's directory, packed with
        the program (docs/python.md)."""
        where = _where()
        svc: HydroflowService = self._add_service(HydroflowService, "hydroflow",
                                                  _name(name, display_id, where), on,
                                                  src, None, where)
        self._common(svc, where, args, env, cwd, needs, standin, files)
        return svc

    def HydroflowCrate(self, src: str, on: HostArg = None, *, bin: Optional[str] = None,
                       example: Optional[str] = None, profile: Optional[str] = None,
                       features: Optional[Sequence[str]] = None,
                       args: Sequence[str] = (), env: Optional[Mapping[str, Any]] = None,
                       cwd: Optional[str] = None,
                       needs: Sequence[Union[str, Target]] = (),
                       standin: Optional[Sequence[str]] = None,
                       files: Sequence[str] = (),
                       name: Optional[str] = None,
                       display_id: Optional[str] = None,
                       external_ports: Sequence[int] = ()) -> CrateService:
        """A Rust crate written for Hydro Deploy (its port protocol on
        stdin/stdout): the crate directory ``src``, built with cargo
        (``bin``/``example``, ``profile``, ``features`` as cargo's
        options).  Its ports are named by use: ``svc.ports.anything``.
        ``standin``: a command that speaks the protocol, run instead of
        building the crate.  ``files``: as for :meth:`Hydroflow`.
        ``external_ports``: TCP ports its host's machine opens to the
        internet, as in Hydro Deploy (:meth:`CustomService`)."""
        where = _where()
        self._open_ports(on, external_ports, where)
        svc: CrateService = self._add_service(CrateService, "crate",
                                              _name(name, display_id, where), on, src,
                                              None, where)
        self._model.set_service(svc.name, bin=bin, example=example, profile=profile,
                                features=None if features is None else
                                _strings(features, "features", where))
        self._common(svc, where, args, env, cwd, needs, standin, files)
        return svc

    def Process(self, cmd: Sequence[str], on: HostArg = None, *,
                env: Optional[Mapping[str, Any]] = None,
                ports: Union[Mapping[str, str], Sequence[str], None] = None,
                ready: ReadyArg = None, cwd: Optional[str] = None,
                needs: Sequence[Union[str, Target]] = (), can_die: bool = False,
                stop_timeout: Optional[float] = None,
                sockets: Optional[str] = None,
                files: Sequence[str] = (),
                name: Optional[str] = None,
                display_id: Optional[str] = None) -> ProcessService:
        """Any command, run on ``on`` with ``env``; named after the script
        it runs (``worker`` for ``["python3", "worker.py"]``) unless
        ``name`` is given.

        ``ports`` declares its ports: ``{"http": "input", "events": "output"}``,
        or a list of names whose direction comes from the connections.
        They reach the process as environment variables: an input's
        ``HYDRO_PORT_<NAME>`` is the address to listen on, an output's the
        address to send to.

        ``ready`` says when it can take connections, so that the services
        that send to it start only then: ``{"port": "http"}`` (that input
        accepts connections), ``{"log": "listening on"}`` (a log line
        matches the POSIX extended regular expression),
        ``{"command": ["pg_isready"]}`` (the command succeeds).
        ``can_die``: its exit does not stop the others.  ``stop_timeout``:
        seconds from SIGTERM to SIGKILL.

        ``sockets="inherit"``: hydro binds each input and hands the
        listening sockets over as systemd's socket activation does
        (descriptors 3, 4, ... in port order, ``LISTEN_FDS``,
        ``LISTEN_PID``, ``LISTEN_FDNAMES``), so that no other program can
        take a port between its pick and the process's start; the process
        must then take them (``sd_listen_fds()``), not bind
        ``HYDRO_PORT_<NAME>``, which it gets for information.  The default,
        ``"address"``: it binds the address itself.  ``files``: files it
        needs, relative to the script's directory (docs/python.md)."""
        where = _where()
        svc: ProcessService = self._add_service(ProcessService, "process",
                                                _name(name, display_id, where), on, None,
                                                _strings(cmd, "cmd", where), where)
        if ports is not None:
            if isinstance(ports, Mapping):
                items = [(str(p), str(d)) for p, d in ports.items()]
            else:
                items = [(p, "unknown") for p in _strings(ports, "ports", where)]
            for pname, direction in items:
                _model_call(PortError, where, self._model.declare_port, svc.name,
                            pname, direction)
        if ready is not None:
            kind = arg = argv = None
            if isinstance(ready, Mapping) and len(ready) == 1:
                kind, value = next(iter(ready.items()))
                if isinstance(value, str):
                    arg = value
                else:
                    argv = _strings(value, "ready command", where)
            _model_call(ConfigError, where, self._model.set_ready, svc.name, kind, arg,
                        argv)
        if can_die or stop_timeout is not None:
            self._model.set_service(svc.name, can_die=bool(can_die),
                                    stop_timeout=-1.0 if stop_timeout is None
                                    else float(stop_timeout))
        if sockets is not None:
            _model_call(ConfigError, where, self._model.set_service, svc.name,
                        sockets=str(sockets))
        self._common(svc, where, (), env, cwd, needs, files=files)
        return svc

    def CustomService(self, *args: Any, **kwargs: Any) -> Any:
        """Hydro Deploy's ``CustomService(on=host, external_ports=[])``: the
        script itself taking part in the deployment (:class:`ScriptService`;
        ``on`` must be a local host).  Given ``cmd``, it is :meth:`Process`,
        as it was before.

        ``external_ports`` are TCP ports the host's machine opens to the
        internet, as Hydro Deploy asks its host for them: on a GCP machine
        they become its ``external_ports`` setting (every service's ports
        together); on this machine and on SSH hosts, whose firewalls hydro
        does not manage, nothing is done."""
        if "cmd" in kwargs or (args and isinstance(args[0], (list, tuple))):
            return self.Process(*args, **kwargs)
        return self._script(*args, **kwargs)

    def _script(self, on: HostArg = None, external_ports: Sequence[int] = (), *,
                name: Optional[str] = None,
                display_id: Optional[str] = None) -> ScriptService:
        where = _where()
        self._open_ports(on, external_ports, where)
        svc: ScriptService = self._add_service(ScriptService, "script",
                                               _name(name, display_id, where), on,
                                               None, None, where)
        return svc

    def _open_ports(self, on: HostArg, ports: Sequence[int], where: str) -> None:
        """Hydro Deploy's external_ports: the ports the host of a service
        about to be placed on ``on`` opens."""
        if isinstance(ports, (str, bytes)) or not isinstance(ports, (list, tuple)):
            raise ConfigError("%s: external_ports takes a list of port numbers, not %r"
                              % (where, ports))
        for port in ports:
            if not isinstance(port, int) or isinstance(port, bool):
                raise ConfigError("%s: external_ports takes port numbers, not %r"
                                  % (where, port))
        if ports:
            _declaring(self, where)
            _model_call(ConfigError, where, self._model.open_ports,
                        self._host(on, where).name, list(ports))

    def Target(self, name: str, cmd: Sequence[str], inputs: Sequence[str] = (),
               outputs: Sequence[str] = (), *, env: Optional[Mapping[str, Any]] = None,
               needs: Sequence[Union[str, Target]] = (),
               cwd: Optional[str] = None) -> Target:
        """A make-style rule run before the services that need it
        (``needs=[target]``): ``cmd`` makes ``outputs`` from ``inputs``
        (files or globs, relative to the script's directory), and is run
        again only when an input changed or an output is missing."""
        where = _where()
        _declaring(self, where)
        names = [n.name if isinstance(n, Target) else n for n in needs]
        _model_call(ConfigError, where, self._model.add_target, name,
                    _strings(cmd, "cmd", where), _strings(inputs, "inputs", where),
                    _strings(outputs, "outputs", where), _env(env, where),
                    _strings(names, "needs", where), cwd)
        return Target(self, name)

    # -- the run --

    @property
    def hosts(self) -> List[Host]:
        """The hosts declared, in order."""
        return list(self._hosts)

    @property
    def services(self) -> List[Service]:
        """The services declared, in order."""
        return list(self._services)

    def to_json(self) -> str:
        """The deployment's JSON form (docs/spec.md), which ``hydro run
        FILE.json`` runs without Python."""
        return str(self._model.to_json(True))

    def _check(self) -> None:
        """The model's checks before the first deploy(): each message names
        the line that declared what it is about."""
        _model_call(ConfigError, None, self._model.validate)
        _model_call(ParamError, None, _hydro.check_params, False)
        if _state.mode in ("run", "plan"):
            _model_call(NotAvailableError, None, self._model.check_backends)
        if _state.mode in ("run", "build"):
            _model_call(BuildError, None, self._model.check_buildable)

    async def deploy(self, start: bool = True) -> None:
        """Build every program, provision the hosts, launch the services and
        wire their ports; then start them, unless ``start=False`` (then
        call :meth:`start`).  Under ``hydro build``, ``plan`` and ``graph``
        the script ends here."""
        where = _where()
        rnd = self._rounds[-1]
        if rnd.run is not None:
            # again, with nothing declared since: what is deployed stays
            if start:
                await self.start()
            return
        # the first time, or again (as Hydro Deploy allows) with what was
        # declared since the last one: that alone is deployed, beside what
        # runs, which stays as it is
        self._check()
        if _state.mode != "run":
            _state.stopped_at = self
            raise _StopAtDeploy(self)
        live = rnd.run = _new_run(self, where, self._run)
        if self._run is None:
            self._run = live
            _state.watch_from(asyncio.current_task())
        if not start:
            live.defer_start()
        await _held_echo(live, _core(live.deploy, live.cancel, where))
        rnd.started = start
        _state.watch(live)

    async def start(self) -> None:
        """Start the services launched by ``deploy(start=False)``; nothing
        for those started already (as Hydro Deploy, start() may be called
        after each deploy())."""
        where = _where()
        if self._run is None:
            raise Error("%s: start() comes after deploy(start=False)" % where)
        for rnd in self._rounds:
            if rnd.run is None or rnd.started:
                continue
            live: _hydro.Run = rnd.run
            await _held_echo(live, _core(live.start, live.cancel, where))
            rnd.started = True

    async def stop(self) -> None:
        """Stop every service (as :meth:`Service.stop`), concurrently."""
        await asyncio.gather(*(s.stop() for s in self._services))


def _name(name: Optional[str], display_id: Optional[str], where: str) -> Optional[str]:
    """The service's name from ``name=`` or Hydro Deploy's ``display_id=``."""
    if display_id is not None and name is not None and display_id != name:
        raise ConfigError("%s: name=%r and display_id=%r name the service twice; give one"
                          % (where, name, display_id))
    return name if name is not None else display_id


def _new_run(d: Deployment, where: str, first: Optional[_hydro.Run]) -> _hydro.Run:
    """The run of d's current round: beside first, when there is one."""
    try:
        return _hydro.Run(d._model) if first is None else _hydro.Run(d._model, first)
    except _hydro.ModelError as e:
        raise DeployError("%s: %s" % (where, e)) from None


def run(main: Callable[..., Any], args: Optional[Sequence[str]] = None) -> None:
    """Run ``main`` (``async def main()`` or ``main(args)``) as ``hydro
    run`` would, so that ``python3 script.py`` works too::

        if __name__ == "__main__":
            hydro.run(main)

    Under plain python3, ``-D name=value``, ``--keep`` and the arguments
    after ``--`` are read from the command line, and the process exits
    with hydro's status.  Under ``hydro run`` this just runs main."""
    from . import _runner
    _runner.run_main(main, args)
