#compdef @PROGRAM@
# zsh completion for @PROGRAM@: source <(@PROGRAM@ completion zsh), after compinit
@FUNCTION@() {
  local -a opts args
  args=("${(@)words[2,CURRENT-1]}")
  if [[ "${words[CURRENT]}" == -* ]]; then
    args+=("${words[CURRENT]}")
  fi
  opts=("${(@f)$(${words[1]} "${(@)args}" --generate-bash-completion 2>/dev/null)}")
  if [[ -n "${opts[1]}" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef @FUNCTION@ @PROGRAM@
