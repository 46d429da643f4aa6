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

t_done
