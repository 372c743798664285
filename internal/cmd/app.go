// Package cmd wires capi-planner's commands: it parses flags into each
// command's Options and calls its Run; the work happens in library packages.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/urfave/cli/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/capi-planner/capi-planner/internal/cmd/plan"
	"github.com/capi-planner/capi-planner/internal/cmd/snapshot"
	"github.com/capi-planner/capi-planner/internal/iostreams"
)

// Version is the capi-planner version, set at build time with -ldflags -X.
var Version = "dev"

// Main runs the CLI with args (args[0] is the program name) and returns the exit code.
// Once ctx is canceled, Main returns within a second even when the command is
// blocked (reading a pipe, waiting for a silent API server).
func Main(ctx context.Context, args []string, ios *iostreams.IOStreams) int {
	app := newApp(ios)
	done := make(chan error, 1)
	go func() { done <- app.RunContext(ctx, args) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done:
		case <-time.After(time.Second):
		}
	}
	code, report := exitCode(ctx, err)
	if report != nil {
		fmt.Fprintf(ios.ErrOut, "error: %s\n", oneLine(report.Error()))
		var ue *usageError
		if errors.As(report, &ue) {
			fmt.Fprintf(ios.ErrOut, "usage: %s\n", ue.usage)
		}
	}
	return code
}

// usageError is a command line that names no command or flag capi-planner has:
// it is reported with the usage of the command.
type usageError struct {
	err   error
	usage string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

const appUsage = "capi-planner [--verbose] plan|snapshot|version [flags] (capi-planner COMMAND --help shows a command's flags)"

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func newApp(ios *iostreams.IOStreams) *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	// Usage errors are one error line on stderr, like every other error, and the usage.
	onUsageError := func(c *cli.Context, err error, _ bool) error {
		usage := appUsage
		if c.Command != nil && c.Command.UsageText != "" {
			usage = c.Command.UsageText
		}
		return &usageError{err: err, usage: usage}
	}
	app := &cli.App{
		Name:      "capi-planner",
		Usage:     "plan chained Cluster API upgrades before you make them",
		Version:   Version,
		Reader:    ios.In,
		Writer:    ios.Out,
		ErrWriter: ios.ErrOut,
		// Errors are reported once, by Main, with the documented exit codes.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		// Without a known command: help for none, an error for anything else.
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			return &usageError{err: fmt.Errorf("unknown command %q", c.Args().First()), usage: appUsage}
		},
		Flags: []cli.Flag{verboseFlag()},
		Commands: []*cli.Command{
			plan.NewCommand(ios, logger(ios), Version),
			snapshot.NewCommand(ios, logger(ios), Version),
			{
				Name:  "version",
				Usage: "print the capi-planner version and its release catalog date",
				Action: func(c *cli.Context) error {
					return printVersion(ios)
				},
			},
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
