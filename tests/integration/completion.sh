# contrib/hydro.bash completes commands, options and config names in a plain
# bash: no bash-completion package, extglob off.
. "$TOP/tests/lib.sh"

if ! command -v bash >/dev/null 2>&1; then
	t_case "bash completion (no bash: skipped)"
	t_end
	t_done
fi

W=$T_TMP/w
mkdir -p "$W/sub dir" "$W/src"
touch "$W/echo.hydro.py" "$W/spec.json" "$W/notes.txt" "$W/prog.hf" "$W/src/a.hf" \
	"$W/src/b.rs" "$W/two words.py"

# complete WORDS...: what _hydro offers for the last word, one per line, sorted
complete_words() {
	(cd "$W" && bash --norc --noprofile -c '
		shopt -u extglob
		. "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_hydro
		printf "%s\n" "${COMPREPLY[@]}" | sort' sh "$TOP/contrib/hydro.bash" "$@")
}

t_case "config names with extglob off"
out=$(complete_words hydro run "")
[ "$out" = "$(printf '%s\n' echo.hydro.py spec.json src 'sub dir' 'two words.py')" ] ||
	t_fail "got: $out"
t_end

t_case "check offers .hf files and directories"
out=$(complete_words hydro check "")
[ "$out" = "$(printf '%s\n' prog.hf src 'sub dir')" ] || t_fail "got: $out"
out=$(complete_words hydro check src/)
[ "$out" = "src/a.hf" ] || t_fail "got: $out"
t_end

t_case "graph offers configs and .hf files"
out=$(complete_words hydro graph "")
[ "$out" = "$(printf '%s\n' echo.hydro.py prog.hf spec.json src 'sub dir' 'two words.py')" ] ||
	t_fail "got: $out"
t_end

t_case "commands and options"
out=$(complete_words hydro r)
[ "$out" = "run" ] || t_fail "got: $out"
out=$(complete_words hydro run --k)
[ "$out" = "--keep" ] || t_fail "got: $out"
out=$(complete_words hydro d)
[ "$out" = "$(printf '%s\n' deploy down)" ] || t_fail "got: $out"
out=$(complete_words hydro deploy --k)
[ "$out" = "--keep" ] || t_fail "got: $out"
out=$(complete_words hydro --color=n)
[ "$out" = "never" ] || t_fail "got: $out"
t_end

t_done
