// Package cmd wires capi-planner's commands: it parses flags into each
// command's Options and calls its Run; the work happens in library packages.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

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
func Main(ctx context.Context, args []string, ios *iostreams.IOStreams) int {
	app := newApp(ios)
	err := app.RunContext(ctx, args)
	var ec exitCoder
	if err != nil && !errors.As(err, &ec) {
		fmt.Fprintf(ios.ErrOut, "error: %s\n", oneLine(err.Error()))
	}
	return exitCode(err)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func newApp(ios *iostreams.IOStreams) *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	// Usage errors are one line on stderr, like every other error; --help shows the rest.
	onUsageError := func(_ *cli.Context, err error, _ bool) error {
		return fmt.Errorf("%w (see capi-planner --help)", err)
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
		Flags:          []cli.Flag{verboseFlag()},
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
