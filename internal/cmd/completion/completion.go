// Package completion is `capi-planner completion SHELL`, and the `__complete`
// protocol kubectl uses to complete plugins (kubectl_complete-capi_planner).
//
// Both rest on urfave/cli's own completion: the app lists its commands and
// flags when the last argument is --generate-bash-completion.
package completion

import (
	_ "embed"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

var (
	//go:embed bash.sh
	bashScript string
	//go:embed zsh.zsh
	zshScript string
)

// generate is urfave/cli's completion flag.
const generate = "--generate-bash-completion"

// NewCommand returns `completion bash|zsh|fish`; program is the name the script completes.
func NewCommand(program string) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		UsageText: program + " completion bash|zsh|fish",
		Description: `Load it in the current shell:
  bash: source <(` + program + ` completion bash)
  zsh:  source <(` + program + ` completion zsh)     (after compinit)
  fish: ` + program + ` completion fish | source
or write it where the shell loads completions from, for example
/etc/bash_completion.d/, a directory of $fpath (as _` + program + `), or
~/.config/fish/completions/` + program + `.fish.`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("expected one shell: bash, zsh or fish")
			}
			script, err := Script(c.App, c.Args().First(), program)
			if err != nil {
				return err
			}
			_, err = io.WriteString(c.App.Writer, script)
			return err
		},
	}
}

// Script returns the completion script of a shell.
func Script(app *cli.App, shell, program string) (string, error) {
	fn := "_" + strings.NewReplacer("-", "_", ".", "_").Replace(program)
	switch shell {
	case "bash":
		return expand(bashScript, program, fn), nil
	case "zsh":
		return expand(zshScript, program, fn), nil
	case "fish":
		return app.ToFishCompletion()
	}
	return "", fmt.Errorf("unsupported shell %q: expected bash, zsh or fish", shell)
}

func expand(script, program, fn string) string {
	return strings.NewReplacer("@PROGRAM@", program, "@FUNCTION@", fn).Replace(script)
}

// KubectlArgs turns the arguments kubectl gives a plugin's completion program
// (the words typed after the plugin name, the one being completed last) into
// the app's arguments that make urfave/cli list the candidates.
func KubectlArgs(words []string) (args []string, toComplete string) {
	if len(words) == 0 {
		return []string{generate}, ""
	}
	toComplete = words[len(words)-1]
	args = append(args, words[:len(words)-1]...)
	if strings.HasPrefix(toComplete, "-") {
		args = append(args, toComplete)
	}
	return append(args, generate), toComplete
}

// KubectlReply writes the candidates urfave/cli listed that complete toComplete,
// one a line, then Cobra's directive line, which kubectl reads: :4
// (no file completion) when there are candidates, :0 (the shell's default) when not.
func KubectlReply(w io.Writer, listed, toComplete string) error {
	n := 0
	for _, line := range strings.Split(listed, "\n") {
		// zsh-style "name:description" lines carry a description; kubectl wants the name.
		name, _, _ := strings.Cut(line, ":")
		if name == "" || !strings.HasPrefix(name, toComplete) {
			continue
		}
		if _, err := fmt.Fprintln(w, name); err != nil {
			return err
		}
		n++
	}
	directive := 0
	if n > 0 {
		directive = 4
	}
	_, err := fmt.Fprintf(w, ":%d\n", directive)
	return err
}
