// Package cmd wires capi-planner's commands: it parses flags into each
// command's Options and calls its Run; the work happens in library packages.
package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/urfave/cli/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/capi-planner/capi-planner/internal/cmd/apply"
	"github.com/capi-planner/capi-planner/internal/cmd/completion"
	"github.com/capi-planner/capi-planner/internal/cmd/plan"
	"github.com/capi-planner/capi-planner/internal/cmd/snapshot"
	"github.com/capi-planner/capi-planner/internal/iostreams"
)

// Version is the capi-planner version, set at build time with -ldflags -X.
var Version = "dev"

// Main runs the CLI with args (args[0] is the program name) and returns the exit code.
//
// Installed as kubectl-capi_planner, it is the kubectl plugin `kubectl capi-planner`;
// as kubectl_complete-capi_planner, kubectl's completion program for it.
// Once ctx is canceled, Main returns within a second even when the command is
// blocked (reading a pipe, waiting for a silent API server).
func Main(ctx context.Context, args []string, ios *iostreams.IOStreams) int {
	switch filepath.Base(args[0]) {
	case kubectlComplete, kubectlComplete + ".exe":
		return completeForKubectl(ctx, args[1:], ios)
	}
	name := helpName(args[0])
	if name != "capi-planner" {
		args = hoistKubectlFlags(args)
	}
	app := newApp(ios, name)
	args = flagsFirst(app, args)
	done := make(chan error, 1)
	go func() { done <- app.RunContext(ctx, args) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// apply finishes a write in flight and gives its lock back first.
		grace := time.Second
		if commandOf(args) == "apply" {
			grace = applyGrace
		}
		select {
		case err = <-done:
		case <-time.After(grace):
		}
	}
	code, report := exitCode(ctx, err)
	var lines multiLine
	switch {
	case errors.As(report, &lines):
		// Written to be read as lines: which objects changed, which gates failed.
		fmt.Fprintf(ios.ErrOut, "error: %s\n", strings.TrimRight(report.Error(), "\n"))
	case report != nil:
		fmt.Fprintf(ios.ErrOut, "error: %s\n", oneLine(report.Error()))
		var ue *usageError
		if errors.As(report, &ue) {
			fmt.Fprintf(ios.ErrOut, "usage: %s\n", ue.usage)
		}
	}
	return code
}

// multiLine is an error of capi-planner's own whose message is meant as
// several lines (it names no user input that could hold line breaks).
type multiLine interface{ MultiLine() }

// commandOf returns the command a command line runs: its first argument that
// is not a global flag.
func commandOf(args []string) string {
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

// applyGrace is how long an interrupted apply may take to stop cleanly (a
// write in flight, then the lock released); a second Ctrl-C ends it at once.
const applyGrace = 45 * time.Second

// flagsFirst moves a command's arguments after its flags, so that flags may
// follow arguments as kubectl allows (apply FILE --yes): urfave/cli stops
// reading flags at the first argument. "--" ends the flags as usual.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 3 {
		return args
	}
	var cmd *cli.Command
	for _, c := range app.Commands {
		if c.HasName(args[1]) {
			cmd = c
		}
	}
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			prefix := "--"
			if len(n) == 1 {
				prefix = "-"
			}
			takesValue[prefix+n] = !isBool
		}
	}
	var flags, positional []string
	for i := 2; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			if name, _, inline := strings.Cut(a, "="); !inline && takesValue[name] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			positional = append(positional, a)
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	if len(positional) > 0 {
		out = append(append(out, "--"), positional...)
	}
	return out
}

// usageError is a command line that names no command or flag capi-planner has:
// it is reported with the usage of the command.
type usageError struct {
	err   error
	usage string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// appUsage follows the program's name in the usage line.
const appUsage = " [--verbose] plan|snapshot|version|completion [flags] (add --help after a command for its flags)"

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Program names: the kubectl plugin, and kubectl's completion program for it.
const (
	kubectlPlugin   = "kubectl-capi_planner"
	kubectlComplete = "kubectl_complete-capi_planner"
)

// helpName is how usage and errors name the program: "kubectl capi-planner"
// when kubectl runs it as a plugin.
func helpName(arg0 string) string {
	switch filepath.Base(arg0) {
	case kubectlPlugin, kubectlPlugin + ".exe":
		return "kubectl capi-planner"
	}
	return "capi-planner"
}

// kubectlFlags are kubectl's flags that capi-planner's commands take too, and
// whether each takes a value.
var kubectlFlags = map[string]bool{
	"--kubeconfig": true, "--context": true, "-n": true, "--namespace": true, "--request-timeout": true,
	"-A": false, "--all-namespaces": false, "-v": false, "--verbose": false,
}

// hoistKubectlFlags moves kubectl's flags typed before the command
// (kubectl capi-planner --context prod plan) after it, where the command reads them.
func hoistKubectlFlags(args []string) []string {
	var hoisted []string
	i := 1
	for i < len(args) {
		flag, _, inline := strings.Cut(args[i], "=")
		takesValue, ok := kubectlFlags[flag]
		if !ok {
			break
		}
		n := 1
		if takesValue && !inline && i+1 < len(args) {
			n = 2
		}
		hoisted = append(hoisted, args[i:i+n]...)
		i += n
	}
	if len(hoisted) == 0 || i == len(args) {
		return args
	}
	out := append([]string{args[0], args[i]}, hoisted...)
	return append(out, args[i+1:]...)
}

// completeForKubectl answers kubectl's plugin completion: words are what was typed
// after `kubectl capi-planner`, the word being completed last.
func completeForKubectl(ctx context.Context, words []string, ios *iostreams.IOStreams) int {
	var listed bytes.Buffer
	args, toComplete := completion.KubectlArgs(words)
	app := newApp(&iostreams.IOStreams{In: ios.In, Out: &listed, ErrOut: io.Discard}, "kubectl capi-planner")
	args = append([]string{kubectlPlugin}, args...)
	// urfave/cli's completion reads the word before --generate-bash-completion
	// from os.Args, not from the arguments it runs with.
	saved := os.Args
	os.Args = args
	defer func() { os.Args = saved }()
	if err := app.RunContext(ctx, args); err != nil {
		code, _ := exitCode(ctx, err)
		return code
	}
	if err := completion.KubectlReply(ios.Out, listed.String(), toComplete); err != nil {
		return ExitError
	}
	return ExitOK
}

func newApp(ios *iostreams.IOStreams, helpName string) *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	// Usage errors are one error line on stderr, like every other error, and the usage.
	onUsageError := func(c *cli.Context, err error, _ bool) error {
		usage := helpName + appUsage
		if c.Command != nil && c.Command.UsageText != "" {
			usage = c.Command.UsageText
		}
		return &usageError{err: err, usage: usage}
	}
	app := &cli.App{
		Name:     "capi-planner",
		HelpName: helpName,
		// Completion: the scripts of `completion` ask with --generate-bash-completion.
		EnableBashCompletion: true,
		Usage:                "plan chained Cluster API upgrades before you make them",
		Version:              Version,
		Reader:               ios.In,
		Writer:               ios.Out,
		ErrWriter:            ios.ErrOut,
		// Errors are reported once, by Main, with the documented exit codes.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		// Without a known command: help for none, an error for anything else.
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			return &usageError{err: fmt.Errorf("unknown command %q", c.Args().First()), usage: helpName + appUsage}
		},
		Flags: []cli.Flag{verboseFlag()},
		Commands: []*cli.Command{
			plan.NewCommand(ios, logger(ios), Version),
			apply.NewCommand(ios, logger(ios), Version),
			snapshot.NewCommand(ios, logger(ios), Version),
			{
				Name:  "version",
				Usage: "print the capi-planner version and its release catalog date",
				Flags: []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "output format: text or json"}},
				Action: func(c *cli.Context) error {
					return printVersion(ios, c.String("output"))
				},
			},
			completion.NewCommand("capi-planner"),
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = onUsageError
		// -v works after the command name too, as in kubectl.
		c.Flags = append(c.Flags, verboseFlag())
	}
	return app
}

func verboseFlag() cli.Flag {
	return &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log debug messages on stderr"}
}

// logger returns a function giving the logger for a command, at debug level with --verbose.
func logger(ios *iostreams.IOStreams) func(*cli.Context) *slog.Logger {
	return func(c *cli.Context) *slog.Logger {
		level := slog.LevelInfo
		for _, ctx := range c.Lineage() {
			if ctx.Bool("verbose") {
				level = slog.LevelDebug
			}
		}
		handler := slog.NewTextHandler(ios.ErrOut, &slog.HandlerOptions{Level: level})
		// CAPI's code logs through controller-runtime's logger: with --verbose to the
		// same stderr, else nowhere; set either way, or controller-runtime warns (with
		// a stack trace) after 30 seconds that it is not.
		crLogger := logr.Discard()
		if level == slog.LevelDebug {
			crLogger = logr.FromSlogHandler(handler)
		}
		ctrllog.SetLogger(crLogger)
		return slog.New(handler)
	}
}
