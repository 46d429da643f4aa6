# bash completion for hydro (no shell option needed: extglob may be off)

# COMPREPLY: the directories and the files ending in one of the extensions
# given that start with $cur
_hydro_files()
{
	local f ext
	COMPREPLY=()
	compopt -o filenames 2>/dev/null
	while IFS= read -r f; do
		if [ -d "$f" ]; then
			COMPREPLY+=("$f")
			continue
		fi
		for ext; do
			case $f in
			*."$ext") COMPREPLY+=("$f"); break ;;
			esac
		done
	done < <(compgen -f -- "$cur")
}

_hydro()
{
	local cur prev words cword cmd i
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	local globals="-j --jobs -v --verbose -q --quiet --color --json -C -h --help --version"
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		run|deploy|build|plan|graph|down|check|help) cmd=${words[i]}; break ;;
		esac
	done
	case $prev in
	-C) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
	--format) COMPREPLY=($(compgen -W "mermaid dot" -- "$cur")); return ;;
	-j|--jobs|-D) return ;;
	esac
	case $cur in
	--color=*) COMPREPLY=($(compgen -W "auto always never" -- "${cur#*=}")); return ;;
	--format=*) COMPREPLY=($(compgen -W "mermaid dot" -- "${cur#*=}")); return ;;
	esac
	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$globals" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "run deploy build plan graph down check help" -- "$cur"))
		fi
		return
	fi
	case $cmd in
	run|deploy) opts="-D --keep --no-log-prefix --timestamps --trust-new-hosts" ;;
	build) opts="-D" ;;
	plan) opts="-D --json" ;;
	graph) opts="-D --format" ;;
	down) opts="--dry-run --json" ;;
	check) opts="--json" ;;
	help) COMPREPLY=($(compgen -W "run deploy build plan graph down check" -- "$cur")); return ;;
	*) opts= ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts $globals" -- "$cur"))
	else
		case $cmd in
		check) _hydro_files hf ;;
		down) _hydro_files py json ;;
		graph) _hydro_files py json hf ;;
		*) _hydro_files py json ;;
		esac
	fi
}
complete -F _hydro hydro
