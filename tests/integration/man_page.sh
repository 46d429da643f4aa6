# The man page says what is: every environment variable the code reads, the
# exit statuses of a run stopped by a signal, no feature that is not there.
. "$TOP/tests/lib.sh"

MAN=$TOP/docs/hydro.1

# the text of section $1 of the man page, up to the next .SH
man_section() {
	awk -v s="$1" '/^\.SH / { on = ($0 == ".SH " s); next } on' "$MAN"
}

t_case "ENVIRONMENT names every variable hydro reads"
man_section ENVIRONMENT >"$T_TMP/env"
grep -rhoE '(getenv|env_[a-z]+)\("[A-Z_]+"' "$TOP/src" "$TOP/backends" |
	sed 's/.*("//; s/"$//' | sort -u >"$T_TMP/vars"
[ -s "$T_TMP/vars" ] || t_fail "no getenv() found in the sources"
while read -r v; do
	case $v in PATH|TERM) continue ;; esac
	grep -q "^\.B.* $v\b\|^\.BR.* $v\b" "$T_TMP/env" || t_fail "ENVIRONMENT lacks $v"
done <"$T_TMP/vars"
t_end

t_case "EXIT STATUS has the statuses of a run stopped by a signal"
man_section "EXIT STATUS" >"$T_TMP/exit"
for n in 0 1 2 129 130 143; do
	grep -qx "\.B $n" "$T_TMP/exit" || t_fail "EXIT STATUS lacks $n"
done
t_end

t_case "DESCRIPTION claims no uploads or machines hydro cannot make yet"
man_section DESCRIPTION >"$T_TMP/desc"
grep -qi "upload\|provision" "$T_TMP/desc" && t_fail "DESCRIPTION: $(grep -i 'upload\|provision' "$T_TMP/desc")"
t_end

t_case "the man page has no roff warnings"
if command -v groff >/dev/null 2>&1; then
	groff -man -Tutf8 -ww -z "$MAN" >"$T_TMP/out" 2>&1 || t_fail "groff failed"
	[ -s "$T_TMP/out" ] && t_fail "$(head -5 "$T_TMP/out")"
fi
t_end

t_done
