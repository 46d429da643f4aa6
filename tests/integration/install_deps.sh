# contrib/install-deps.sh chooses its packages: --bench adds the
# benchmarks' peers, --help says so, nothing is installed when all is
# there.  dpkg-query, apt-get and sudo are stand-ins on PATH that record
# what they were asked; nothing is installed for real.
. "$TOP/tests/lib.sh"

S=$T_TMP/bin
mkdir -p "$S"
# every package installed, but those named in $T_TMP/missing
cat >"$S/dpkg-query" <<'SH'
#!/bin/sh
for p; do :; done
grep -qx "$p" "$T_TMP/missing" 2>/dev/null && exit 1
echo "install ok installed"
SH
cat >"$S/apt-get" <<'SH'
#!/bin/sh
echo "apt-get $*" >>"$T_TMP/asked"
SH
cat >"$S/sudo" <<'SH'
#!/bin/sh
"$@"
SH
chmod +x "$S"/*
export T_TMP
deps() { PATH=$S:$PATH t_run sh "$TOP/contrib/install-deps.sh" "$@"; }

t_case "--help names --bench"
deps --help
t_expect_rc 0
t_expect_out "--bench"
t_expect_out "pssh, rsync"
t_end

t_case "all present: nothing is asked of apt-get, with or without --bench"
: >"$T_TMP/missing"
deps --bench
t_expect_rc 0
[ -e "$T_TMP/asked" ] && t_fail "apt-get was run: $(cat "$T_TMP/asked")"
t_end

t_case "--bench installs the benchmarks' peers; without it they are not asked for"
printf 'pssh\nrsync\nansible\nzstd\n' >"$T_TMP/missing"
deps
t_expect_rc 0
[ -e "$T_TMP/asked" ] && t_fail "apt-get was run without --bench: $(cat "$T_TMP/asked")"
deps --bench
t_expect_rc 0
t_expect_out "installing pssh rsync ansible zstd"
grep -q "install .* pssh rsync ansible zstd" "$T_TMP/asked" ||
	t_fail "apt-get was not asked for the peers: $(cat "$T_TMP/asked" 2>/dev/null)"
t_end

t_done
