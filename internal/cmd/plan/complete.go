package plan

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/capi-planner/capi-planner/internal/cmd/input"
	"github.com/capi-planner/capi-planner/internal/iostreams"
)

// complete is the plan command's shell completion: after --cluster it lists the
// Clusters as NAMESPACE/NAME, after -n their namespaces, read from the snapshot
// (-f) or the live management cluster the flags typed so far select; otherwise
// the command's flags.
func complete(ios *iostreams.IOStreams) cli.BashCompleteFunc {
	return func(c *cli.Context) {
		// urfave/cli completes on the word before --generate-bash-completion, in os.Args.
		prev := ""
		if n := len(os.Args); n >= 2 {
			prev = os.Args[n-2]
		}
		switch prev {
		case "--cluster", "-n", "--namespace":
			// Best effort: without input, or when it cannot be read, there is nothing to offer.
			_ = listClusters(c, ios, prev == "--cluster", c.App.Writer)
		default:
			cli.DefaultCompleteWithFlags(c.Command)(c)
		}
	}
}

func listClusters(c *cli.Context, ios *iostreams.IOStreams, qualified bool, w io.Writer) error {
	in, err := input.FromFlags(c)
	if err != nil {
		return err
	}
	quiet := &iostreams.IOStreams{In: ios.In, Out: io.Discard, ErrOut: io.Discard}
	loaded, err := in.Load(c.Context, quiet, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	var out []string
	for _, cl := range loaded.State.Clusters {
		if in.Namespace != "" && cl.Namespace != in.Namespace {
			continue
		}
		if qualified {
			out = append(out, cl.Namespace+"/"+cl.Name)
		} else {
			out = append(out, cl.Namespace)
		}
	}
	slices.Sort(out)
	for _, s := range slices.Compact(out) {
		if _, err := fmt.Fprintln(w, s); err != nil {
			return err
		}
	}
	return nil
}
