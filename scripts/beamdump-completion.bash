# bash completion for beamdump (installed by `make install` as
# share/bash-completion/completions/beamdump). Commands and options come from the
# program itself (beamdump __complete), so they are always the installed ones; for
# proc and state, the process names and pids come from the dump on the line.
_beamdump()
{
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$(beamdump __complete 2>/dev/null) help --help --version" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[1]}
	# --opt=value: bash splits it at '=' (COMP_WORDBREAKS), the option is before it
	if [ "$cur" = "=" ]; then
		cur=""
	elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 2 ]; then
		prev=${COMP_WORDS[COMP_CWORD-2]}
	fi
	if [ "$cmd" = help ]; then
		COMPREPLY=($(compgen -W "$(beamdump __complete 2>/dev/null)" -- "$cur"))
		return
	fi
	# values of options that take a fixed set of words
	case "$prev" in
	--by)
		if [ "$cmd" = diff ]; then
			COMPREPLY=($(compgen -W "memory mq reductions binary count" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "memory mq reductions binary heap" -- "$cur"))
		fi
		return ;;
	--color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
	--style) COMPREPLY=($(compgen -W "erlang elixir auto" -- "$cur")); return ;;
	--format) COMPREPLY=($(compgen -W "text md junit json" -- "$cur")); return ;;
	--fail-on) COMPREPLY=($(compgen -W "critical warning info" -- "$cur")); return ;;
	--fifo|--baseline|--current|--final|--config|--cookie-file|--md|--junit|--exe|--perf-map)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--sysroot|--debug-dir)
		COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-o|--output)
		if [ "$cmd" = sink ]; then
			COMPREPLY=($(compgen -d -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return ;;
	--json)
		if [ "$cmd" = ci ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
			return
		fi ;;
	-n|--rows|--messages|--from|--every|--count|--name|--node|--set|--top-queues|--batch|--pause|--timeout|--max-queue|--stacks|--nice|--details)
		return ;;
	esac
	case "$cur" in
	--*=*)
		return ;;
	-*)
		COMPREPLY=($(compgen -W "$(beamdump __complete "$cmd" 2>/dev/null | sed 's/=$//')" -- "$cur"))
		return ;;
	esac
	# proc and state: the first argument is a process of the dump given later on the line
	if [ "$cmd" = proc ] || [ "$cmd" = state ]; then
		local npos=0 dump=""
		for ((i = 2; i < ${#COMP_WORDS[@]}; i++)); do
			[ "$i" -eq "$COMP_CWORD" ] && continue
			case "${COMP_WORDS[i]}" in -*) continue ;; esac
			[ -f "${COMP_WORDS[i]}" ] && dump=${COMP_WORDS[i]}
		done
		for ((i = 2; i < COMP_CWORD; i++)); do
			case "${COMP_WORDS[i]}" in -*) ;; *) npos=$((npos + 1)) ;; esac
		done
		if [ "$npos" -eq 0 ] && [ -n "$dump" ]; then
			COMPREPLY=($(compgen -W "$(beamdump __complete --procs "$dump" 2>/dev/null)" -- "$cur"))
			return
		fi
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -o bashdefault -F _beamdump beamdump
