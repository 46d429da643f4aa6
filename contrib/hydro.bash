# bash completion for hydro
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
		run|build|plan|graph|down|check|help) cmd=${words[i]}; break ;;
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
			COMPREPLY=($(compgen -W "run build plan graph down check help" -- "$cur"))
		fi
		return
	fi
	case $cmd in
	run) opts="-D --keep --no-log-prefix" ;;
	build) opts="-D" ;;
	plan) opts="-D --json" ;;
	graph) opts="-D --format" ;;
	down) opts="--dry-run" ;;
	help) COMPREPLY=($(compgen -W "run build plan graph down check" -- "$cur")); return ;;
	*) opts= ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts $globals" -- "$cur"))
	elif [ "$cmd" = check ]; then
		COMPREPLY=($(compgen -f -X '!*.hf' -- "$cur") $(compgen -d -- "$cur"))
	elif [ "$cmd" = down ]; then
		COMPREPLY=($(compgen -d -- "$cur"))
	else
		COMPREPLY=($(compgen -f -X '!*.@(py|lua|json|hf)' -- "$cur") $(compgen -d -- "$cur"))
	fi
}
complete -F _hydro hydro
