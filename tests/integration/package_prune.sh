# Old packages in .hydro/packages go after a build: never the ones the
# build uses, never one used within the hour; of the others the 8 last
# used stay unless unused for a week; packers' stale temporaries go too.
# A plan removes nothing.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/package/lib.sh"

pkg_cargo "old packages are pruned"

W=$T_TMP/w
P=$W/.hydro/packages
pkg_tiny "$W/tiny"
cat >"$W/d.json" <<'JSON'
{"version": 1, "hosts": [{"name": "box", "backend": "local"}],
 "services": [{"name": "t", "kind": "crate", "on": "box", "src": "tiny"}]}
JSON

# age FILE SECONDS: last touched that long ago
age() { touch -d "@$(($(date +%s) - $2))" "$1"; }
# old NAME SECONDS: a package file last touched that long ago
old() { : >"$P/$1.tar.zst" && age "$P/$1.tar.zst" "$2"; }
DAY=86400
have() { [ -f "$P/$1" ] || t_fail "'$1' was removed: $(ls "$P")"; }
gone() { [ -f "$P/$1" ] && t_fail "'$1' is still there"; true; }

t_case "the build's own package is made and kept"
t_run "$HYDRO" build "$W/d.json"
t_expect_rc 0
cur=$(cd "$P" && ls *.tar.* | head -1)
[ -n "$cur" ] || t_fail "no package"
t_end

t_case "a build prunes the old ones, keeping the recent and the last used"
age "$P/$cur" $((40 * DAY))
old recent 600
for i in 1 2 3 4 5 6 7 8 9; do old "o$i" $((2 * DAY + 60 * i)); done
old ancient $((30 * DAY))
: >"$P/package-1.tmp.999999999"
: >"$P/package-2.tmp.$$"
t_run "$HYDRO" build "$W/d.json"
t_expect_rc 0
have "$cur"
have recent.tar.zst
for i in 1 2 3 4 5 6 7; do have "o$i.tar.zst"; done
gone o8.tar.zst
gone o9.tar.zst
gone ancient.tar.zst
gone package-1.tmp.999999999
have "package-2.tmp.$$"
grep -q "^$cur " "$P/.used" || t_fail ".used: $(cat "$P/.used")"
t_end

t_case "a package used by a build stays the most recent, whatever its file's age"
age "$P/$cur" $((40 * DAY))
for i in 1 2 3 4 5 6 7 8 9; do old "n$i" $((DAY + 60 * i)); done
t_run "$HYDRO" build "$W/d.json"
t_expect_rc 0
have "$cur"
t_end

t_case "plan prunes nothing"
old planned $((60 * DAY))
t_run "$HYDRO" plan "$W/d.json"
t_expect_rc 0
have planned.tar.zst
t_end

t_done
