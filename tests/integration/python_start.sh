# What hydro-python does to start and step quickly: the stdlib modules
# asyncio imports but does not use (ssl, inspect, ...) run when a script
# first uses them, and are then what python3 gives; a run's signal set-up
# does not run inspect; main()'s parameters are read without inspect; the
# threads that wait for the core are reused.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

DEFERRED="ssl asyncio.sslproto asyncio.staggered inspect locale textwrap tokenize"

cat >"$T_TMP/use.hydro.py" <<'PY'
import sys, types
import hydro

deferred = sys.argv[1].split()
print("not run yet:", " ".join(n for n in deferred if type(sys.modules.get(n)) is not types.ModuleType))
print("finders:", " ".join(getattr(f, "__name__", type(f).__name__) for f in sys.meta_path))

import ssl
from ssl import SSLContext
ctx = ssl.create_default_context()
print("ssl:", ssl.PROTOCOL_TLS_CLIENT == 16, isinstance(ctx, SSLContext), ctx.verify_mode == ssl.CERT_REQUIRED)
import asyncio.sslproto, asyncio.staggered
print("asyncio:", callable(asyncio.sslproto.SSLProtocol), callable(asyncio.staggered.staggered_race))
import inspect, locale, textwrap, tokenize
print("inspect:", inspect.signature(lambda a, *b: 0))
print("locale:", isinstance(locale.getpreferredencoding(False), str))
print("textwrap:", textwrap.dedent("  x"))
print("tokenize:", tokenize.NAME == 1)
print("modules:", " ".join(n for n in deferred if type(sys.modules[n]) is not types.ModuleType) or "all plain")
print("loaders:", " ".join(n for n in deferred if sys.modules[n].__spec__.loader is not sys.modules[n].__loader__) or "as their specs")


async def main():
    pass
PY

t_case "the modules asyncio imports but does not use run when a script uses them"
t_run "$HYDRO" --color=never run "$T_TMP/use.hydro.py" -- "$DEFERRED"
t_expect_rc 0
t_expect_out "not run yet: $DEFERRED"
t_expect_out "ssl: True True True"
t_expect_out "asyncio: True True"
t_expect_out "inspect: (a, *b)"
t_expect_out "locale: True"
t_expect_out "textwrap: x"
t_expect_out "tokenize: True"
t_expect_out "modules: all plain"
t_expect_out "loaders: as their specs"
t_end

t_case "the finder that deferred them is gone before the script runs"
grep -q "^finders: BuiltinHydroFinder .*PathFinder" "$T_TMP/out" ||
	t_fail "sys.meta_path: $(grep finders "$T_TMP/out")"
grep -q "Deferring" "$T_TMP/out" && t_fail "still on sys.meta_path: $(grep finders "$T_TMP/out")"
t_end

# many threads using a deferred module at once: each sees it whole (the
# others wait while one runs it)
cat >"$T_TMP/threads.hydro.py" <<'PY'
import sys, threading, types
import hydro

assert type(sys.modules["textwrap"]) is not types.ModuleType, "textwrap was run already"
start = threading.Barrier(8)
got = []

def use():
    import textwrap
    start.wait()
    got.append(textwrap.shorten("many  words in a line", width=12))

threads = [threading.Thread(target=use) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("threads:", len(got), sorted(set(got)))


async def main():
    pass
PY

t_case "threads that use a deferred module at once all see it whole"
t_run "$HYDRO" --color=never run "$T_TMP/threads.hydro.py"
t_expect_rc 0
t_expect_out "threads: 8 ['many [...]']"
t_end

# main's parameters, read without inspect for a plain function
cat >"$T_TMP/mains.hydro.py" <<'PY'
import functools, sys
import hydro

kind = sys.argv[1]

if kind == "none":
    async def main():
        print("main()")
elif kind == "args":
    async def main(args):
        print("main(args)", args)
elif kind == "star":
    async def main(*args):
        print("main(*args)", args)
elif kind == "kwonly":
    async def main(*, args=None):
        print("main(*, args)", args)
elif kind == "wrapped":
    async def inner(args):
        print("wrapped main(args)", args)

    @functools.wraps(inner)
    def main(*a):
        return inner(*a)
elif kind == "sync":
    def main(args):
        print("sync main(args)", args)
PY

t_case "main() gets the script's arguments when it has a positional parameter"
while IFS='|' read -r kind want; do
	t_run "$HYDRO" --color=never run "$T_TMP/mains.hydro.py" -- "$kind" x </dev/null
	t_expect_rc 0
	t_expect_out "$want"
done <<'EOF'
none|main()
args|main(args) ['args', 'x']
star|main(*args) (['star', 'x'],)
kwonly|main(*, args) None
wrapped|wrapped main(args) ['wrapped', 'x']
sync|sync main(args) ['sync', 'x']
EOF
t_end

MARK="hydro-python-start-$$"
left() { pkill -9 -f "$MARK" 2>/dev/null; true; }
t_on_exit left

cat >"$T_TMP/ops.hydro.py" <<PY
import asyncio, os, sys, types
from hydro import Deployment

seen = set()

def threads():
    tids = os.listdir("/proc/self/task")
    seen.update(tids)
    return len(tids)

async def main():
    d = Deployment()
    box = d.Localhost()
    svcs = [d.Process(cmd=["sh", "-c", "exec sleep 30", "$MARK"], on=box, name="s%d" % i)
            for i in range(24)]
    await d.deploy()
    most = 0
    for s in svcs[:12]:
        await s.stop()
        most = max(most, threads())
    print("one by one:", [s.exit_code for s in svcs[:12]] == [143] * 12, "threads at most", most, "in all", len(seen))
    await asyncio.gather(*(s.stop() for s in svcs[12:]))
    print("at once:", [s.exit_code for s in svcs[12:]] == [143] * 12)
    # asyncio's signal handling, set up for main(), reads no repr and checks
    # no callback with inspect
    print("inspect run:", type(sys.modules["inspect"]) is types.ModuleType)
PY

t_case "stop() after stop() reuses the thread that waited; many at once all end; inspect is not run"
t_run "$HYDRO" --color=never run "$T_TMP/ops.hydro.py"
t_expect_rc 0
t_expect_out "one by one: True"
t_expect_out "at once: True"
t_expect_out "inspect run: False"
most=$(sed -n 's/.*threads at most \([0-9]*\).*/\1/p' "$T_TMP/out")
all=$(sed -n 's/.* in all \([0-9]*\).*/\1/p' "$T_TMP/out")
# the main thread, the supervisor, the run's watch, a waiting thread or
# two: not one more for each stop
[ -n "$most" ] && [ "$most" -lt 12 ] && [ -n "$all" ] && [ "$all" -lt 12 ] ||
	t_fail "threads: $(cat "$T_TMP/out")"
[ -z "$(py_running "$MARK")" ] || t_fail "still running: $(py_running "$MARK")"
t_end

t_done
