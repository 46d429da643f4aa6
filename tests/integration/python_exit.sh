# A Python run's exit status when a service dies on its own.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

MARK="hydro-python-exit-$$"
left() { pkill -9 -f "$MARK" 2>/dev/null; true; }
t_on_exit left

cat >"$T_TMP/die.hydro.py" <<PY
import asyncio
import hydro
from hydro import Deployment

async def main():
    d = Deployment()
    box = d.Localhost()
    d.Process(cmd=["sh", "-c", "sleep 0.3; echo going >&2; exit 3", "$MARK"], on=box,
              name="quitter", can_die=hydro.param("can_die", False))
    d.Process(cmd=["sh", "-c", "exec sleep 30", "$MARK"], on=box, name="sleeper")
    await d.deploy()
    await asyncio.sleep(1.5)
PY

t_case "a service that dies on its own fails the run: exit 1, the others stopped"
t_run "$HYDRO" --color=never run "$T_TMP/die.hydro.py"
t_expect_rc 1
t_expect_err "service 'quitter' exited with status 3"
t_expect_err "going"
[ -z "$(py_running "$MARK")" ] || t_fail "still running: $(py_running "$MARK")"
t_end

t_case "with can_die it does not: exit 0"
t_run "$HYDRO" --color=never run -D can_die=true "$T_TMP/die.hydro.py"
t_expect_rc 0
[ -z "$(py_running "$MARK")" ] || t_fail "still running: $(py_running "$MARK")"
t_end

# hydro-python exits without tearing the interpreter down: what a script
# sees of the interpreter's end happens all the same
cat >"$T_TMP/end.hydro.py" <<'PY'
import atexit, sys, threading, time
kept = open(sys.argv[1] + "/text.txt", "w")
kept.write("a text file left open\n")
raw = open(sys.argv[1] + "/raw.bin", "wb")
raw.write(b"a binary file left open\n")
atexit.register(lambda: print("atexit ran", flush=False))

def late():
    time.sleep(0.3)
    print("thread joined", flush=False)

async def main():
    threading.Thread(target=late).start()
    sys.stdout.write("main returned")
PY

t_case "at the end: threads joined, atexit run, open files and stdout flushed"
t_run env -u PYTHONUNBUFFERED "$HYDRO" --color=never run "$T_TMP/end.hydro.py" -- "$T_TMP"
t_expect_rc 0
[ "$(cat "$T_TMP/out")" = "main returnedthread joined
atexit ran" ] || t_fail "printed: $(cat "$T_TMP/out")"
[ "$(cat "$T_TMP/text.txt")" = "a text file left open" ] || t_fail "text.txt: $(cat "$T_TMP/text.txt")"
[ "$(cat "$T_TMP/raw.bin")" = "a binary file left open" ] || t_fail "raw.bin: $(cat "$T_TMP/raw.bin")"
t_end

t_done
