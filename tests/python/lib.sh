# tests/python/lib.sh: what the Python integration tests share.  Source it
# after tests/lib.sh.

# Under SANITIZE=1, LeakSanitizer reports what CPython itself keeps past
# Py_FinalizeEx (interned strings, static types, the allocator's arenas):
# leaks whose stack runs through libpython are the interpreter's, so they
# are suppressed for these tests only; hydro's own leaks still fail.
LSAN_OPTIONS="suppressions=$TOP/tests/python/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

# the interpreter hydro embeds (the python3 first on PATH may be another)
PY=/usr/bin/python3

# py_echo_dir DIR: the seed's echo.hydro.py in DIR, with only its
# GcpMachine(...) lines replaced by Localhost() and stand-ins given to its
# Hydroflow(...) services, beside its .hf programs and the stand-in
py_echo_dir() {
	mkdir -p "$1/src"
	cp "$TOP"/tests/python/src/*.hf "$1/src/"
	cp "$TOP/tests/python/standin.py" "$TOP/tests/python/hydro_program.py" "$1/"
	awk -v py="$PY" -v standin="$1/standin.py" '
		/= deployment\.GcpMachine\(/ {
			sub(/deployment\.GcpMachine\(/, "deployment.Localhost()"); print; skip = 1; next
		}
		skip { if ($0 ~ /^ *\)$/) skip = 0; next }
		/src="src\/echo_(server|client)\.hf",/ {
			role = $0; sub(/.*src\/(echo_)?/, "", role); sub(/\.hf.*/, "", role)
			print
			printf "        standin=[\"%s\", \"%s\", \"echo_%s\"],\n", py, standin, role
			next
		}
		{ print }' "$TOP/tests/python/echo.hydro.py" >"$1/echo.hydro.py"
}

# the processes still running whose command line mentions $1
py_running() {
	pgrep -f -- "$1" || true
}
