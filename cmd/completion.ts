/**
 * `execd completion bash|zsh|fish`: a completion script made from the program itself — the
 * verbs and their options from cac, the fs operations from their table, the languages from
 * `execd exec --list` when completed (they depend on what is installed).
 */
import type { CAC } from 'cac'
import { UsageError } from './errors'
import { COMMON } from './fs'
import { OPS } from './fs-verbs'

interface Words {
  verbs: string[]
  options: Record<string, string[]>
  ops: string[]
}

/** `-d, --depth <n>` → `-d`, `--depth`. */
const flagsIn = (raw: string): string[] => raw.split(/[ ,]+/).filter(w => w.startsWith('-'))

function wordsOf(cli: CAC): Words {
  const options: Record<string, string[]> = {}
  const verbs: string[] = []
  for (const command of cli.commands) {
    verbs.push(command.name)
    options[command.name] = command.options.flatMap(o => flagsIn(o.rawName))
  }
  // The operations' flags from their table, as the verbs' from cac: a list written here lacked
  // every operation's own (`fs ls --depth`, `fs rm --recursive`, `fs chmod --owner` …).
  const fsFlags = [...OPS.flatMap(o => o.options ?? []), ...COMMON].flatMap(([raw]) => flagsIn(raw))
  options.fs = [...new Set([...fsFlags, '--help'])]
  return { verbs, options, ops: OPS.map(o => o.name) }
}

const LANGUAGES = `execd exec --list 2>/dev/null | awk '$2 == "available" {print $1}'`

export function completion(shell: string, cli: CAC): string {
  const w = wordsOf(cli)
  switch (shell) {
    case 'bash':
      return bash(w)
    case 'zsh':
      // zsh runs bash completion functions through bashcompinit.
      return `autoload -U +X bashcompinit && bashcompinit\n${bash(w)}`
    case 'fish':
      return fish(w)
    default:
      throw new UsageError(`no completion for '${shell}': bash, zsh or fish`)
  }
}

function bash(w: Words): string {
  const cases = w.verbs
    .filter(v => v !== 'fs' && v !== 'exec')
    .map(v => `    ${v}) COMPREPLY=($(compgen -W "${(w.options[v] ?? []).join(' ')}" -- "$cur")) ;;`)
    .join('\n')
  return `# execd completion for bash: source <(execd completion bash)
_execd() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${w.verbs.join(' ')} --help --version" -- "$cur"))
    return
  fi
  case \${COMP_WORDS[1]} in
    fs)
      if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=($(compgen -W "${w.ops.join(' ')}" -- "$cur"))
      elif [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${w.options.fs!.join(' ')}" -- "$cur"))
      else COMPREPLY=($(compgen -f -- "$cur")); fi ;;
    exec)
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${w.options.exec!.join(' ')}" -- "$cur"))
      elif [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=($(compgen -W "$(${LANGUAGES})" -- "$cur"))
      else COMPREPLY=($(compgen -f -- "$cur")); fi ;;
${cases}
  esac
}
complete -o default -F _execd execd
`
}

function fish(w: Words): string {
  const lines = [
    '# execd completion for fish: execd completion fish | source',
    'complete -c execd -f',
    `complete -c execd -n __fish_use_subcommand -a "${w.verbs.join(' ')}"`,
    `complete -c execd -n "__fish_seen_subcommand_from fs; and test (count (commandline -opc)) -eq 2" -a "${w.ops.join(' ')}"`,
    `complete -c execd -n "__fish_seen_subcommand_from fs; and test (count (commandline -opc)) -gt 2" -F`,
    `complete -c execd -n "__fish_seen_subcommand_from exec; and test (count (commandline -opc)) -eq 2" -a "(${LANGUAGES})"`,
  ]
  for (const verb of w.verbs) {
    for (const option of w.options[verb] ?? []) {
      if (!option.startsWith('--')) continue
      lines.push(`complete -c execd -n "__fish_seen_subcommand_from ${verb}" -l ${option.slice(2)}`)
    }
  }
  return `${lines.join('\n')}\n`
}
