# hydro build of a Python config reuses its last evaluation when nothing it
# read changed (lang/python/evalcache.h): no interpreter then, and any
# change to what it read, or anything it did that cannot be checked, means
# the script is evaluated again.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

W=$T_TMP/w
mkdir -p "$W"
echo alpha >"$W/name.txt"
cat >"$W/conf.py" <<'PY'
import os
import hydro
from hydro import Deployment

async def main():
    d = Deployment()
    name = open("name.txt").read().strip()
    name += "-" + os.environ.get("EVAL_MODE", "plain")
    if os.path.exists("flag"):
        name += "-flag"
    try:
        import helper
        name += "-" + helper.SUFFIX
    except ImportError:
        pass
    name += hydro.param("suffix", "")
    d.Target("make", cmd=["sh", "-c", "echo made >out-%s" % name],
             outputs=["out-" + name])
    await d.deploy()
PY

HYDRO_EVAL_CACHE_DEBUG=1
export HYDRO_EVAL_CACHE_DEBUG
unset EVAL_MODE HYDRO_NO_EVAL_CACHE

# build [ARGS...]: hydro build conf.py in $W (the cache is not used with -C)
build() {
	t_run sh -c 'cd "$1" && shift && exec "$@"' sh "$W" "$HYDRO" build "$@" conf.py
}
# evaluated: the last build ran the script (and recorded it); reused: not
evaluated() {
	t_expect_rc 0
	t_expect_err "eval cache: recorded"
}
reused() {
	t_expect_rc 0
	grep -q "eval cache:" "$T_TMP/err" && t_fail "the script ran again: $(head -c 600 "$T_TMP/err")"
	true
}

t_case "the first build evaluates the script, the second reuses it"
build; evaluated
[ -f "$W/out-alpha-plain" ] || t_fail "the target did not run"
[ -f "$W/.hydro/eval/conf.py.json" ] || t_fail "no record"
build; reused
t_expect_err "nothing to do: 1 task up to date"
t_end

t_case "a reused evaluation starts no Python"
if command -v strace >/dev/null 2>&1; then
	(cd "$W" && strace -f -e trace=execve -o "$T_TMP/trace" "$HYDRO" build conf.py >/dev/null 2>&1)
	grep -q hydro-python "$T_TMP/trace" && t_fail "hydro-python was run"
fi
t_end

t_case "a file the script read changed: evaluated again, with the new contents"
echo beta >"$W/name.txt"
build; evaluated
[ -f "$W/out-beta-plain" ] || t_fail "the new name was not used"
build; reused
t_end

t_case "an environment variable the script read changed"
EVAL_MODE=x build; evaluated
[ -f "$W/out-beta-x" ] || t_fail "the variable was not used"
EVAL_MODE=x build; reused
build; evaluated
t_end

t_case "a path the script looked at appeared"
touch "$W/flag"
build; evaluated
[ -f "$W/out-beta-plain-flag" ] || t_fail "the flag was not seen"
build; reused
t_end

t_case "a module the script failed to import appeared, then changed"
echo 'SUFFIX = "h"' >"$W/helper.py"
build; evaluated
[ -f "$W/out-beta-plain-flag-h" ] || t_fail "the module was not imported"
build; reused
echo 'SUFFIX = "i"' >"$W/helper.py"
build; evaluated
[ -f "$W/out-beta-plain-flag-i" ] || t_fail "the changed module was not used"
t_end

t_case "files the script did not read come and go without an evaluation"
build; reused
touch "$W/unrelated.txt"
build; reused
t_end

t_case "-D parameters: another value evaluates; the same one reuses, as read"
build -D suffix=-s; evaluated
build -D suffix=-s; reused
[ -f "$W/out-beta-plain-flag-i-s" ] || t_fail "the parameter was not used"
build -D suffix=-s -D nosuch=1; evaluated
t_expect_err "'nosuch'"
t_end

t_case "the script itself changed"
build; evaluated
sed 's/echo made/echo remade/' "$W/conf.py" >"$W/conf.py.new" && mv "$W/conf.py.new" "$W/conf.py"
build; evaluated
t_expect_err "ran 1 task"
t_end

t_case "HYDRO_NO_EVAL_CACHE=1 evaluates every time"
build; reused
HYDRO_NO_EVAL_CACHE=1 build
t_expect_rc 0
t_expect_err "nothing to do"
grep -q "eval cache:" "$T_TMP/err" && t_fail "$(cat "$T_TMP/err")"
if command -v strace >/dev/null 2>&1; then
	(cd "$W" && HYDRO_NO_EVAL_CACHE=1 strace -f -e trace=execve -o "$T_TMP/trace" \
		"$HYDRO" build conf.py >/dev/null 2>&1)
	grep -q hydro-python "$T_TMP/trace" || t_fail "hydro-python was not run"
fi
t_end

# what cannot be checked afterwards is never recorded
for body in 'print("building")' 'import time' 'from datetime import datetime' \
	'import subprocess' 'import random' 'open("w.txt", "w").close()' 'os.getpid()' \
	'exec("import uuid")'; do
	t_case "not recorded: $body"
	sed "s|^    d = Deployment()|    d = Deployment()\\n    $body|" "$T_TMP/w/conf.py" >"$W/conf.py.new"
	mv "$W/conf.py.new" "$W/conf.py.t"
	cp "$W/conf.py.t" "$W/conf.py"
	build
	t_expect_rc 0
	t_expect_err "eval cache: not recorded"
	[ -f "$W/.hydro/eval/conf.py.json" ] && t_fail "a record was written"
	build
	t_expect_err "eval cache: not recorded"
	t_end
done

t_done
