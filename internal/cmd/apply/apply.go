// Package apply is the `capi-planner apply` command: apply a saved plan (or
// plan and apply) to one Cluster, with the upgrade package.
package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/capi-planner/capi-planner/internal/cmd/input"
	"github.com/capi-planner/capi-planner/internal/cmd/plan"
	"github.com/capi-planner/capi-planner/internal/iostreams"
	"github.com/capi-planner/capi-planner/internal/planfile"
	"github.com/capi-planner/capi-planner/internal/render"
	"github.com/capi-planner/capi-planner/internal/render/progress"
	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/internal/suppress"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/upgrade"
)

// Options are the apply command's inputs, already validated.
type Options struct {
	IO     *iostreams.IOStreams
	Logger *slog.Logger
	Now    func() time.Time
	// Version is capi-planner's.
	Version string

	// File is the saved plan; empty to plan first (Plan).
	File string
	// Plan plans the Cluster live when there is no File.
	Plan *plan.Options
	// Cluster selects the Cluster (required with several in the plan).
	Cluster *types.NamespacedName

	Kube        input.Options
	Yes         bool
	Until       string
	DryRun      upgrade.DryRun
	Skip        []planner.RuleID
	StepTimeout time.Duration
	StallAfter  time.Duration
	// JSON streams events as JSON lines on stdout.
	JSON bool
	// Holder names this run in the lock; default user@host/pid.
	Holder        string
	LeaseDuration time.Duration
}

// NewCommand returns the cli command.
func NewCommand(ios *iostreams.IOStreams, logger func(*cli.Context) *slog.Logger, version string) *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "apply a saved plan to a Cluster and follow it to the end",
		UsageText: "capi-planner apply FILE [--yes] | capi-planner apply --cluster NAMESPACE/NAME --to VERSION [--yes] [--until VERSION] [--dry-run=client|server] [-o text|json]",
		Description: `Applies exactly a plan saved with 'capi-planner plan --out FILE', or plans
--cluster to --to first and shows the plan. Before the first write it reads the
cluster and plans again, and refuses if anything planned has changed. It holds a
Lease on the Cluster while it runs, makes each write with a precondition, and
follows every step with watches until the controllers have finished it.

Ctrl-C stops following (the upgrade goes on in the cluster); running the same
apply again continues where the cluster stands. docs/apply.md tells more.`,
		Flags: append(input.KubeFlags(),
			&cli.StringFlag{Name: "cluster", Usage: "the Cluster, as NAMESPACE/NAME (needed without FILE, or when FILE plans several)"},
			&cli.StringFlag{Name: "to", Usage: "without FILE: plan to this target (v1.36.3, v1.36 or latest), show the plan, and apply it"},
			&cli.StringFlag{Name: "versions", Usage: "without FILE: Kubernetes versions that replace the release catalog (see plan --versions)"},
			&cli.BoolFlag{Name: "ask-extensions", Usage: "without FILE: ask the in-place extension what it covers (see plan --ask-extensions)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "apply without asking for confirmation (required without a terminal)"},
			&cli.StringFlag{Name: "until", Usage: "stop after the last step to this version (a topology Cluster: one of the spec.topology.version values apply writes)"},
			&cli.StringFlag{Name: "dry-run", Value: "none", Usage: "none, client (print the writes) or server (send the next writes with dryRun=All through the admission webhooks)"},
			&cli.StringSliceFlag{Name: "skip-preflight", Usage: "go on despite these failed preflight gates (blocker or finding rules, comma-separated; printed)"},
			&cli.DurationFlag{Name: "timeout", Usage: "give up waiting for a step after this long, with exit code 4 (default: no limit); the upgrade goes on"},
			&cli.DurationFlag{Name: "stall-after", Value: 2 * time.Minute, Usage: "say why when a step shows no progress for this long"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text (progress bars on a terminal, a line per event otherwise) or json (a JSON event per line on stdout)"},
			&cli.DurationFlag{Name: "lease-duration", Value: time.Minute, Usage: "how long the Cluster's lock outlives a stopped apply"},
			&cli.StringFlag{Name: input.MaxFileSizeFlag, Value: "64Mi", Usage: "largest file read (the saved plan, --kubeconfig)"},
		),
		Action: func(c *cli.Context) error {
			opts, err := optionsFrom(c, ios)
			if err != nil {
				return err
			}
			opts.Logger = logger(c)
			opts.Version = version
			if opts.Plan != nil {
				opts.Plan.Logger, opts.Plan.Version = opts.Logger, version
			}
			return Run(c.Context, opts)
		},
	}
}

func optionsFrom(c *cli.Context, ios *iostreams.IOStreams) (*Options, error) {
	if c.NArg() > 1 {
		return nil, fmt.Errorf("unexpected arguments %q: apply takes one saved plan", strings.Join(c.Args().Slice()[1:], " "))
	}
	opts := &Options{IO: ios, Now: time.Now, File: c.Args().First(), Yes: c.Bool("yes"), Until: c.String("until"),
		StepTimeout: c.Duration("timeout"), StallAfter: c.Duration("stall-after"), LeaseDuration: c.Duration("lease-duration")}
	size, err := input.ParseSize(c, input.MaxFileSizeFlag)
	if err != nil {
		return nil, err
	}
	opts.Kube = input.Options{Kube: input.KubeFromFlags(c, size), MaxFileSize: size}
	// apply sees an upgrade through: a read that fails for a passing reason
	// (its own, and those of planning again) is tried again.
	opts.Kube.Kube.RetryReads = true
	if name := c.String("cluster"); name != "" {
		ns, n, ok := strings.Cut(name, "/")
		if !ok || ns == "" || n == "" || strings.Contains(n, "/") {
			return nil, fmt.Errorf("invalid --cluster %q: expected NAMESPACE/NAME", name)
		}
		opts.Cluster = &types.NamespacedName{Namespace: ns, Name: n}
	}
	switch d := c.String("dry-run"); d {
	case "none", "":
	case "client", "server":
		opts.DryRun = upgrade.DryRun(d)
	default:
		return nil, fmt.Errorf("invalid --dry-run %q: expected none, client or server", d)
	}
	switch o := c.String("output"); o {
	case "text":
	case "json":
		opts.JSON = true
	default:
		return nil, fmt.Errorf("invalid -o %q: expected text or json", o)
	}
	for _, v := range c.StringSlice("skip-preflight") {
		for _, r := range strings.Split(v, ",") {
			id := planner.RuleID(strings.TrimSpace(r))
			if _, ok := planner.LookupRule(id); !ok {
				return nil, fmt.Errorf("invalid --skip-preflight %q: no such rule (docs/findings.md lists them)", r)
			}
			opts.Skip = append(opts.Skip, id)
		}
	}
	if opts.Until != "" {
		t, err := planner.ParseTarget(opts.Until)
		if err != nil || t.Kind != planner.TargetExact {
			return nil, fmt.Errorf("invalid --until %q: expected an exact Kubernetes version such as v1.35.2", opts.Until)
		}
		opts.Until = t.Version
	}
	if opts.StallAfter <= 0 {
		return nil, errors.New("invalid --stall-after: expected a positive duration such as 2m")
	}
	if opts.LeaseDuration < 15*time.Second {
		return nil, errors.New("invalid --lease-duration: expected 15s or more")
	}
	planFlags := c.IsSet("to") || c.IsSet("versions") || c.IsSet("ask-extensions")
	switch {
	case opts.File != "" && planFlags:
		return nil, errors.New("conflicting arguments: FILE is a saved plan; --to, --versions and --ask-extensions plan anew (use one or the other)")
	case opts.File == "" && opts.Cluster == nil:
		return nil, errors.New("nothing to apply: pass a saved plan (capi-planner plan --out FILE), or --cluster NAMESPACE/NAME --to VERSION")
	case opts.File == "" && !c.IsSet("to"):
		return nil, errors.New("--cluster without a saved plan needs --to: apply plans to the version you name, shows the plan, and applies it")
	case opts.File == "":
		popts := &plan.Options{IO: ios, Now: time.Now, Input: opts.Kube, Selection: planner.Selection{Cluster: opts.Cluster}, AskExtensions: c.Bool("ask-extensions")}
		popts.Input.Namespace = opts.Cluster.Namespace
		if popts.Selection.To, err = planner.ParseTarget(c.String("to")); err != nil {
			return nil, plan.ExplainFlags(err)
		}
		if v := c.String("versions"); v != "" {
			for _, s := range strings.Split(v, ",") {
				t, err := planner.ParseTarget(strings.TrimSpace(s))
				if err != nil || t.Kind != planner.TargetExact {
					return nil, fmt.Errorf("invalid version %q in --versions: expected exact Kubernetes versions such as v1.36.3", s)
				}
				popts.Versions = append(popts.Versions, t.Version)
			}
		}
		opts.Plan = popts
	}
	return opts, nil
}

// Run applies the plan.
func Run(ctx context.Context, opts *Options) error {
	cfg, err := opts.Kube.Kube.Load()
	if err != nil {
		return err
	}
	saved, err := opts.savedPlan(ctx)
	if err != nil {
		return err
	}
	cp, err := pickCluster(saved, opts.Cluster)
	if err != nil {
		return err
	}
	if err := checkUntil(cp, opts.Until); err != nil {
		return err
	}
	if cp.Status == planner.StatusUpToDate {
		fmt.Fprintf(opts.IO.ErrOut, "Cluster %s/%s is already at %s: nothing to apply.\n", cp.Cluster.Namespace, cp.Cluster.Name, cp.Target)
		return nil
	}
	if err := opts.confirm(ctx, saved, cp); err != nil {
		return err
	}
	digest, err := saved.Digest()
	if err != nil {
		return err
	}
	sch := scheme.New()
	httpClient, err := rest.HTTPClientFor(cfg.REST)
	if err != nil {
		return err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg.REST, httpClient)
	if err != nil {
		return err
	}
	c, err := client.New(cfg.REST, client.Options{Scheme: sch, Mapper: mapper, HTTPClient: httpClient})
	if err != nil {
		return err
	}
	sink, closeSink := opts.sink(cp)
	defer closeSink()
	holder := opts.Holder
	if holder == "" {
		holder = defaultHolder()
	}
	err = upgrade.Run(ctx, upgrade.Options{
		Plan: saved, Digest: digest, Cluster: cp.Cluster,
		Config: cfg.REST, Client: c, Mapper: mapper, Scheme: sch,
		Replan: opts.replan(saved, cp.Cluster),
		Until:  opts.Until, DryRun: opts.DryRun, SkipPreflight: opts.Skip,
		StepTimeout: opts.StepTimeout, StallAfter: opts.StallAfter,
		Holder: holder, HolderGone: localHolderGone, LeaseDuration: opts.LeaseDuration,
		Events: sink, Now: opts.Now,
	})
	if until := (*upgrade.UntilNotPlannedError)(nil); errors.As(err, &until) {
		return fmt.Errorf("invalid --until %s: %w", until.Until, err)
	}
	return err
}

// savedPlan reads FILE, or plans the Cluster now and shows the plan.
func (opts *Options) savedPlan(ctx context.Context) (*planfile.SavedPlan, error) {
	if opts.File != "" {
		return planfile.ReadFile(opts.File, opts.Kube.MaxFileSize)
	}
	made, err := plan.Make(ctx, opts.Plan)
	if err != nil {
		return nil, plan.ExplainFlags(err)
	}
	return made.Saved(opts.Plan), nil
}

func pickCluster(saved *planfile.SavedPlan, sel *types.NamespacedName) (*planner.ClusterPlan, error) {
	var names []string
	for i := range saved.Plan.Clusters {
		c := &saved.Plan.Clusters[i]
		if sel != nil && c.Cluster.Namespace == sel.Namespace && c.Cluster.Name == sel.Name {
			return c, nil
		}
		names = append(names, c.Cluster.Namespace+"/"+c.Cluster.Name)
	}
	switch {
	case sel != nil:
		return nil, fmt.Errorf("the plan has no Cluster %s (it has: %s)", sel, strings.Join(names, ", "))
	case len(names) == 1:
		return &saved.Plan.Clusters[0], nil
	case len(names) == 0:
		return nil, errors.New("the plan has no Cluster")
	}
	return nil, fmt.Errorf("the plan has %d Clusters and apply applies one per run: choose it with --cluster (one of %s)", len(names), strings.Join(names, ", "))
}

// confirm shows the plan and asks, unless --yes or a dry run.
func (opts *Options) confirm(ctx context.Context, saved *planfile.SavedPlan, cp *planner.ClusterPlan) error {
	if opts.DryRun != upgrade.DryRunNone {
		return nil
	}
	one := saved.Plan
	one.Clusters = []planner.ClusterPlan{*cp}
	w := opts.IO.Out
	if opts.JSON {
		w = opts.IO.ErrOut
	}
	if err := render.Plan(w, &one, render.Options{Format: render.FormatTable, Color: opts.IO.Color}); err != nil {
		return err
	}
	if opts.Yes {
		return nil
	}
	ok, err := opts.IO.Confirm(ctx, fmt.Sprintf("\nApply this plan to Cluster %s/%s?", cp.Cluster.Namespace, cp.Cluster.Name))
	switch {
	case errors.Is(err, iostreams.ErrNotInteractive):
		return errors.New("apply asks for confirmation, and standard input is not a terminal: pass --yes to apply without asking")
	case err != nil:
		return err
	case !ok:
		return errors.New("apply cancelled: nothing was written")
	}
	return nil
}

// sink picks the events' renderer: JSON lines on stdout; bars on a terminal;
// otherwise a line per event on stderr.
func (opts *Options) sink(cp *planner.ClusterPlan) (upgrade.EventSink, func()) {
	switch {
	case opts.JSON:
		return progress.NewJSON(opts.IO.Out), func() {}
	// Bars need a terminal that tells its width (a bare pty does not).
	case opts.IO.ErrIsTTY && opts.IO.ErrWidth > 0 && opts.DryRun == upgrade.DryRunNone:
		b := progress.NewBars(opts.IO.ErrOut, cp)
		return b, b.Close
	}
	return progress.NewLines(opts.IO.ErrOut), func() {}
}

// replan reads the cluster and plans the Cluster again with the saved options.
func (opts *Options) replan(saved *planfile.SavedPlan, cluster planner.ObjectRef) func(context.Context) (*upgrade.Replanned, error) {
	return func(ctx context.Context) (*upgrade.Replanned, error) {
		to, err := planner.ParseTarget(saved.Options.To)
		if err != nil {
			return nil, fmt.Errorf("the saved plan's target: %w", err)
		}
		key := types.NamespacedName{Namespace: cluster.Namespace, Name: cluster.Name}
		popts := &plan.Options{IO: opts.IO, Logger: opts.Logger, Now: opts.Now, Input: opts.Kube, Version: opts.Version,
			Selection: planner.Selection{Cluster: &key, To: to}, Versions: saved.Options.Versions, FeatureGates: saved.Options.FeatureGates,
			AssumeCovered: saved.Options.AssumeCovered, AskExtensions: saved.Options.AskExtensions}
		popts.Input.Namespace = cluster.Namespace
		made, err := plan.Make(ctx, popts)
		var notFound *planner.ClusterNotFoundError
		var empty *plan.EmptyLiveError
		switch {
		case errors.As(err, &notFound) || errors.As(err, &empty):
			return nil, fmt.Errorf("the saved plan's Cluster %s/%s is not in the management cluster: it was deleted, or --kubeconfig/--context reach another management cluster (%w)",
				cluster.Namespace, cluster.Name, err)
		case err != nil:
			return nil, fmt.Errorf("planning again with the saved plan's options: %w", err)
		}
		suppress.Apply(made.Plan, saved.Options.Ignore)
		if len(made.Plan.Clusters) != 1 {
			return nil, fmt.Errorf("cluster %s/%s: not found when planning again", cluster.Namespace, cluster.Name)
		}
		return &upgrade.Replanned{State: made.Loaded.State, Plan: made.Plan.Clusters[0]}, nil
	}
}

// checkUntil refuses an --until that a topology Cluster cannot stop at: CAPI
// runs every step of a spec.topology.version write, so apply can only stop
// where one of its writes' upgrades ends.
func checkUntil(cp *planner.ClusterPlan, until string) error {
	if cp.Mode != planner.ModeTopology || until == "" || until == cp.Target {
		return nil
	}
	var ends []string
	for _, w := range upgrade.Writes(cp, func(planner.ObjectRef) string { return "" }) {
		if w.Patch.To == until {
			return nil
		}
		ends = append(ends, w.Patch.To)
	}
	if len(ends) > 1 {
		return fmt.Errorf("invalid --until %s: Cluster %s/%s has a topology; apply writes spec.topology.version %s in turn and CAPI runs every step of each, so --until must be one of them",
			until, cp.Cluster.Namespace, cp.Cluster.Name, strings.Join(ends, ", "))
	}
	return fmt.Errorf("invalid --until %s: Cluster %s/%s has a topology, so its upgrade is one write and CAPI runs every step to %s; plan to %s instead (--to %s)",
		until, cp.Cluster.Namespace, cp.Cluster.Name, cp.Target, until, until)
}
