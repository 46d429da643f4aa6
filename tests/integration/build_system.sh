# configure and make install, run in temporary copies so the tree is untouched.
. "$TOP/tests/lib.sh"

t_case "configure names every missing library and the command that installs it"
mkdir -p "$T_TMP/src" "$T_TMP/bin"
cp "$TOP/configure" "$TOP/Makefile.in" "$T_TMP/src/"
# a pkg-config that knows everything but libssh2 and lua5.4
cat >"$T_TMP/bin/pkg-config" <<'SH'
#!/bin/sh
for a; do case $a in libssh2|lua5.4) exit 1 ;; esac; done
exec /usr/bin/pkg-config "$@"
SH
chmod +x "$T_TMP/bin/pkg-config"
(cd "$T_TMP/src" && PKG_CONFIG="$T_TMP/bin/pkg-config" ./configure) >"$T_TMP/out" 2>"$T_TMP/err"
rc=$?
t_expect_rc 1
t_expect_err "missing: lua5.4 libssh2"
t_expect_err "apt-get install -y liblua5.4-dev libssh2-1-dev"
[ -f "$T_TMP/src/Makefile" ] && t_fail "configure wrote a Makefile despite missing libraries"
t_end

t_case "configure refuses an unknown option"
(cd "$T_TMP/src" && ./configure --frobnicate) >"$T_TMP/out" 2>"$T_TMP/err"
rc=$?
t_expect_rc 2
t_expect_err "unknown option '--frobnicate'"
t_end

t_case "make install honours DESTDIR and PREFIX"
make -s -C "$TOP" install DESTDIR="$T_TMP/root" PREFIX=/opt/hydro HYDRO="$HYDRO" >"$T_TMP/out" 2>"$T_TMP/err" ||
	t_fail "make install failed: $(cat "$T_TMP/err")"
[ -x "$T_TMP/root/opt/hydro/bin/hydro" ] || t_fail "no bin/hydro under DESTDIR/PREFIX"
[ -f "$T_TMP/root/opt/hydro/share/man/man1/hydro.1" ] || t_fail "no man page"
[ -f "$T_TMP/root/opt/hydro/share/bash-completion/completions/hydro" ] || t_fail "no completion"
[ ! -f "$TOP/lang/python/hydro/__init__.py" ] ||
	ls "$T_TMP"/root/opt/hydro/lib/python3*/*-packages/hydro/__init__.py >/dev/null 2>&1 ||
	t_fail "no Python package: $(cd "$T_TMP/root" && find . | head -20)"
"$T_TMP/root/opt/hydro/bin/hydro" --version >/dev/null || t_fail "the installed hydro does not run"
for f in hydro-core.so hydro-python; do
	[ -f "$T_TMP/root/opt/hydro/libexec/hydro/$f" ] || t_fail "no libexec/hydro/$f"
done
"$T_TMP/root/opt/hydro/bin/hydro" check "$TOP/tests/hf/graph-fold-loop.hf" >/dev/null 2>"$T_TMP/err" ||
	t_fail "the installed hydro does not check a program: $(cat "$T_TMP/err")"
t_end

t_done
