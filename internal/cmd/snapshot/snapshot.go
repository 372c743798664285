// Package snapshot is the `capi-planner snapshot` command: write exactly what
// planning reads as YAML that `plan -f` accepts, to plan offline later or to
// attach to a bug report.
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/capi-planner/capi-planner/internal/cmd/input"
	"github.com/capi-planner/capi-planner/internal/iostreams"
	"github.com/capi-planner/capi-planner/internal/safefile"
	"github.com/capi-planner/capi-planner/state/snapshot"
)

// Options are the snapshot command's inputs.
type Options struct {
	IO     *iostreams.IOStreams
	Logger *slog.Logger
	Now    func() time.Time
	Input  input.Options
	// Output is the file to write, or "-" for stdout.
	Output  string
	Version string
}

// NewCommand returns the cli command.
func NewCommand(ios *iostreams.IOStreams, logger func(*cli.Context) *slog.Logger, version string) *cli.Command {
	return &cli.Command{
		Name:      "snapshot",
		Usage:     "write what planning reads from a management cluster to a YAML file",
		UsageText: "capi-planner snapshot -o FILE [--kubeconfig FILE] [--context NAME] [-n NAMESPACE | -A] [-l SELECTOR]",
		Description: `Reads the management cluster exactly as plan does and writes the objects as
YAML that plan -f accepts: plan offline later, in CI, or attach it to a bug
report. Secrets are never read; controller Deployments are reduced to their
images and arguments. The file is written atomically (a temporary file renamed
over it), through a symbolic link to its target, keeping an existing file's mode;
devices, FIFOs and directories are refused: -o - writes to standard output.`,
		Flags: append(input.Flags(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "file to write, or - for stdout"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q: the file to write is -o FILE", c.Args().First())
			}
			in, err := input.FromFlags(c)
			if err != nil {
				return err
			}
			return Run(c.Context, &Options{IO: ios, Logger: logger(c), Now: time.Now, Input: in, Output: c.String("output"), Version: version})
		},
	}
}

// Run reads the state and writes it.
func Run(ctx context.Context, opts *Options) error {
	if opts.Output == "" {
		return errors.New("missing -o FILE (or -o - for stdout)")
	}
	if opts.Output != "-" {
		// Refuse a device, FIFO or directory before reading anything.
		if _, _, err := safefile.ResolveOutput(opts.Output, "-o"); err != nil {
			return err
		}
	}
	loaded, err := opts.Input.Load(ctx, opts.IO, opts.Logger)
	if err != nil {
		return err
	}
	source := "snapshot files"
	if loaded.REST != nil {
		source = loaded.REST.Host
	}
	header := fmt.Sprintf("capi-planner %s snapshot of %s at %s", opts.Version, source, opts.Now().UTC().Format(time.RFC3339))
	if err := ctx.Err(); err != nil {
		return err
	}
	if opts.Output == "-" {
		return snapshot.Write(opts.IO.Out, loaded.State, header)
	}
	if err := snapshot.WriteFile(opts.Output, loaded.State, header); err != nil {
		return err
	}
	st := loaded.State
	opts.Logger.Info("snapshot written", "file", opts.Output, "clusters", len(st.Clusters), "machines", len(st.Machines))
	return nil
}
