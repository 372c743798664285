// Package plan is the `capi-planner plan` command: read a snapshot, plan, render.
package plan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/blang/semver/v4"
	"github.com/urfave/cli/v2"
	"k8s.io/apimachinery/pkg/types"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/catalog"
	"github.com/capi-planner/capi-planner/internal/cmd/input"
	"github.com/capi-planner/capi-planner/internal/inplace"
	"github.com/capi-planner/capi-planner/internal/iostreams"
	"github.com/capi-planner/capi-planner/internal/planfile"
	"github.com/capi-planner/capi-planner/internal/policy"
	"github.com/capi-planner/capi-planner/internal/render"
	"github.com/capi-planner/capi-planner/internal/runtimeext"
	"github.com/capi-planner/capi-planner/internal/safefile"
	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/internal/suppress"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/state"
)

// Options are the plan command's inputs, already validated.
type Options struct {
	IO     *iostreams.IOStreams
	Logger *slog.Logger
	// Now is the planning time (injected for reproducible output).
	Now func() time.Time

	Input     input.Options
	Selection planner.Selection
	// Versions replaces the release catalog (nil: use the catalog).
	Versions []string
	Format   render.Format
	Catalog  *catalog.Catalog
	Version  string
	// FeatureGates overrides the controllers' gates (nil: read them).
	FeatureGates map[string]bool
	// AssumeCovered are the differences the in-place extension is assumed to cover.
	AssumeCovered []string
	// FailOn is the CI policy; nil for none.
	FailOn *policy.Replace
	// AskExtensions asks the in-place extension instead of assuming (live only).
	AskExtensions bool
	// Ignore suppresses findings (--ignore, --ignore-file).
	Ignore []suppress.Entry
	// DetailedExitCode exits 2 when an upgrade is planned, 0 only when every
	// selected Cluster is at the target (--detailed-exitcode).
	DetailedExitCode bool
	// Out is where --out saves the plan with its inputs, for apply; "" for none.
	Out string
}

// NewCommand returns the cli command; logger gives the logger configured by global flags.
func NewCommand(ios *iostreams.IOStreams, logger func(*cli.Context) *slog.Logger, version string) *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "plan the upgrade of Clusters to a Kubernetes version",
		UsageText: "capi-planner plan [-f SNAPSHOT | --kubeconfig FILE] [--cluster NAMESPACE/NAME] [--to VERSION] [-o table|json|yaml|markdown|sarif] [--ignore RULE[:NAMESPACE/NAME]] [--detailed-exitcode]",
		Description: `Reads Cluster API objects from a live management cluster (kubeconfig) or from
YAML snapshots (kubectl get ... -o yaml, or capi-planner snapshot) and shows, step
by step, how Cluster API will upgrade each Cluster to the target version: control
plane steps, worker steps, their order, lifecycle hooks, blockers and findings.

--to takes an exact version (v1.36.3), a minor (v1.36: the latest patch the
version source offers) or "latest". Without --to, the plan lists the versions the
source offers and plans to the newest.`,
		Flags: append(input.Flags(),
			&cli.StringFlag{Name: "cluster", Usage: "plan one Cluster, as NAMESPACE/NAME (default: every Cluster, one line each)"},
			&cli.StringFlag{Name: "to", Usage: "target: v1.36.3, v1.36 or latest (default: the newest version the source offers)"},
			&cli.StringFlag{Name: "versions", Usage: "comma-separated Kubernetes versions that replace the release catalog and stand in for upgrade-plan extensions"},
			&cli.StringFlag{Name: "versions-file", Usage: "like --versions, read from a file (one version per line or comma-separated; # comments)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "output format: table, json, yaml, markdown or sarif"},
			&cli.StringFlag{Name: "feature-gates", Usage: "the controllers' gates for in-place predictions, e.g. InPlaceUpdates=true,RuntimeSDK=true (default: read from the controllers' Deployments)"},
			&cli.StringFlag{Name: "assume-extension-covers", Usage: "field paths the in-place extension covers besides spec.version, comma-separated, under " + strings.Join(planner.CoverableObjects, ", ") + " (a field covers its subfields), or " + planner.DiffTemplates + " for unevaluated ClusterClass patches"},
			&cli.StringFlag{Name: "fail-on", Usage: "exit 3 when Machines would be replaced: replace, replace:NAME,NAME for some objects, or replace-gpu for Machines with accelerators"},
			&cli.BoolFlag{Name: "ask-extensions", Usage: "live: ask the in-place extension (CanUpdateMachine, CanUpdateMachineSet) what it covers instead of assuming"},
			&cli.StringSliceFlag{Name: "ignore", Usage: "suppress a finding: RULE, or RULE:NAMESPACE/NAME for one Cluster or object (repeatable; rules in docs/findings.md)"},
			&cli.StringFlag{Name: "ignore-file", Usage: "suppress findings listed in a YAML file: ignore: [{rule: RULE, object: NAMESPACE/NAME, reason: WHY}]"},
			&cli.StringFlag{Name: "out", Usage: "save the plan with what it was made from to FILE, for `capi-planner apply FILE`"},
			&cli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 0 when every selected Cluster is at the target, 2 when an upgrade is planned, 1 on errors, 3 on a --fail-on violation"},
		),
		BashComplete: complete(ios),
		Action: func(c *cli.Context) error {
			opts, err := optionsFrom(c, ios)
			if err != nil {
				return err
			}
			opts.Logger = logger(c)
			opts.Version = version
			return Run(c.Context, opts)
		},
	}
}

func optionsFrom(c *cli.Context, ios *iostreams.IOStreams) (*Options, error) {
	if c.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: pass snapshots with -f and the Cluster with --cluster", c.Args().First())
	}
	in, err := input.FromFlags(c)
	if err != nil {
		return nil, err
	}
	opts := &Options{IO: ios, Now: time.Now, Input: in}
	format, err := render.ParseFormat(c.String("output"))
	if err != nil {
		return nil, err
	}
	opts.Format = format
	ns, all := in.Namespace, in.AllNamespaces
	if name := c.String("cluster"); name != "" {
		key, err := parseClusterName(name)
		if err != nil {
			return nil, err
		}
		if ns != "" && ns != key.Namespace {
			return nil, fmt.Errorf("conflicting flags --cluster %s and -n %s: the namespaces differ", name, ns)
		}
		if all {
			return nil, errors.New("conflicting flags --cluster and -A/--all-namespaces: --cluster selects one Cluster")
		}
		opts.Selection.Cluster = &key
		// Read only the Cluster's namespace.
		opts.Input.Namespace = key.Namespace
	}
	if c.IsSet("to") && c.String("to") == "" {
		return nil, errors.New(`invalid --to "": expected an exact Kubernetes version (v1.36.3), a minor (v1.36) or "latest"; leave --to out to plan to the newest version the source offers`)
	}
	if opts.Selection.To, err = planner.ParseTarget(c.String("to")); err != nil {
		return nil, ExplainFlags(err)
	}
	if v := c.String("feature-gates"); v != "" {
		if opts.FeatureGates, err = parseGates(v); err != nil {
			return nil, err
		}
	}
	if v := c.String("assume-extension-covers"); v != "" {
		for _, d := range strings.Split(v, ",") {
			d = strings.TrimSpace(d)
			if err := planner.CheckCoverable(d); err != nil {
				return nil, fmt.Errorf("invalid --assume-extension-covers: %w", err)
			}
			opts.AssumeCovered = append(opts.AssumeCovered, d)
		}
	}
	if opts.AskExtensions = c.Bool("ask-extensions"); opts.AskExtensions && !in.Live() {
		return nil, errors.New("--ask-extensions calls the extensions of a live management cluster: it does not go with -f")
	}
	if v := c.String("fail-on"); v != "" {
		if opts.FailOn, err = policy.Parse(v); err != nil {
			return nil, err
		}
	}
	for _, v := range c.StringSlice("ignore") {
		e, err := suppress.ParseFlag(v)
		if err != nil {
			return nil, err
		}
		opts.Ignore = append(opts.Ignore, e)
	}
	if path := c.String("ignore-file"); path != "" {
		entries, err := suppress.ReadFile(path)
		if err != nil {
			return nil, err
		}
		opts.Ignore = append(opts.Ignore, entries...)
	}
	opts.DetailedExitCode = c.Bool("detailed-exitcode")
	if opts.Out = c.String("out"); c.IsSet("out") {
		if opts.Out == "" || opts.Out == "-" {
			return nil, errors.New(`invalid --out: expected a file path; the plan goes to standard output with -o json`)
		}
		if _, _, err := safefile.ResolveOutput(opts.Out, "--out"); err != nil {
			return nil, err
		}
	}
	if opts.Versions, err = readVersions(c.String("versions"), c.String("versions-file"), c.IsSet("versions"), c.IsSet("versions-file"), in.MaxFileSize); err != nil {
		return nil, err
	}
	return opts, nil
}

func parseGates(s string) (map[string]bool, error) {
	gates, err := state.ParseFeatureGates(s)
	if err != nil {
		return nil, fmt.Errorf("invalid --feature-gates %q: %v; expected NAME=true|false pairs, e.g. InPlaceUpdates=true,RuntimeSDK=true", s, err)
	}
	return gates, nil
}

func parseClusterName(s string) (types.NamespacedName, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return types.NamespacedName{}, fmt.Errorf("invalid --cluster %q: expected NAMESPACE/NAME", s)
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

func readVersions(list, file string, listSet, fileSet bool, maxSize int64) ([]string, error) {
	switch {
	case listSet && fileSet:
		return nil, errors.New("conflicting flags --versions and --versions-file: use one")
	case listSet:
		return splitVersions(list, "--versions")
	case fileSet:
		data, err := safefile.ReadFile(file, maxSize)
		if err != nil {
			return nil, fmt.Errorf("--versions-file: %w (raise the size limit with --%s)", err, input.MaxFileSizeFlag)
		}
		var b strings.Builder
		for line := range strings.Lines(string(data)) {
			line, _, _ = strings.Cut(line, "#")
			b.WriteString(strings.TrimSpace(line) + ",")
		}
		return splitVersions(b.String(), "--versions-file "+file)
	}
	return nil, nil
}

func splitVersions(s, from string) ([]string, error) {
	var out []string
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		t, err := planner.ParseTarget(v)
		if err != nil || t.Kind != planner.TargetExact {
			return nil, fmt.Errorf("invalid version %q in %s: expected exact Kubernetes versions such as v1.36.3", v, from)
		}
		out = append(out, t.Version)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no version", from)
	}
	return out, nil
}

// warnUnknownTarget warns when an exact --to is not among --versions, or is
// newer than every release of its minor in the catalog: a release newer than
// the catalog is legitimate, a typo (v1.36.99) is not. (A ClusterClass's version
// list is checked per Cluster, as CAPI's webhook does.)
func warnUnknownTarget(opts *Options) {
	to := opts.Selection.To
	if to.Kind != planner.TargetExact {
		return
	}
	if opts.Versions != nil {
		if !slices.Contains(opts.Versions, to.Version) {
			opts.Logger.Warn(fmt.Sprintf("--to %s is not among --versions (%s): planning to it anyway; check the version", to.Raw, strings.Join(opts.Versions, ", ")))
		}
		return
	}
	target, err := semver.ParseTolerant(to.Version)
	if err != nil {
		return
	}
	newest := ""
	for _, r := range opts.Catalog.Releases {
		v, err := semver.ParseTolerant(r.Version)
		if err != nil || v.Major != target.Major || v.Minor != target.Minor {
			continue
		}
		if v.GTE(target) {
			return
		}
		newest = r.Version
	}
	if newest == "" {
		newest = "none"
	}
	opts.Logger.Warn(fmt.Sprintf("--to %s is newer than every v%d.%d release in the release catalog of %s (newest: %s): planning to it as a release newer than the catalog; check the version, or pass the releases with --versions",
		to.Raw, target.Major, target.Minor, opts.Catalog.Generated.Format("2006-01-02"), newest))
}

// checkFailOnNames refuses --fail-on names that name no object that planning
// could replace, so that a typo cannot turn a CI gate off.
func checkFailOnNames(st *state.State, names []string) error {
	known := map[string]bool{}
	for _, md := range st.MachineDeployments {
		known[md.Name] = true
		known[md.Labels[clusterv1.ClusterTopologyMachineDeploymentNameLabel]] = true
	}
	for _, mp := range st.MachinePools {
		known[mp.Name] = true
		known[mp.Labels[clusterv1.ClusterTopologyMachinePoolNameLabel]] = true
	}
	for _, cp := range st.ControlPlanes {
		known[cp.GetName()] = true
	}
	for _, n := range names {
		if !known[n] {
			return fmt.Errorf("invalid --fail-on: no MachineDeployment, MachinePool or control plane in the input is named %q (nor has it as its topology name): check the name", n)
		}
	}
	return nil
}

// RejectedError is returned when a selected Cluster's upgrade would be rejected;
// the rejections were already written to stderr.
type RejectedError struct{ Clusters int }

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%d %s cannot be planned", e.Clusters, map[bool]string{true: "cluster", false: "clusters"}[e.Clusters == 1])
}

// Made is a plan with what it was made from.
type Made struct {
	Plan   *planner.UpgradePlan
	Loaded *input.Loaded
}

// Make reads the state and plans: the part of plan that apply repeats.
func Make(ctx context.Context, opts *Options) (*Made, error) {
	if opts.Catalog == nil {
		cat, err := catalog.Embedded()
		if err != nil {
			return nil, err
		}
		opts.Catalog = cat
	}
	loaded, err := opts.Input.Load(ctx, opts.IO, opts.Logger)
	if err != nil {
		return nil, err
	}
	st := loaded.State
	if loaded.REST != nil && len(st.Clusters) == 0 {
		e := &EmptyLiveError{Host: loaded.REST.Host, Namespace: loaded.Namespace}
		if opts.Input.Selector != nil {
			e.Selector = opts.Input.Selector.String()
		}
		return nil, e
	}
	if opts.FailOn != nil {
		if err := checkFailOnNames(st, opts.FailOn.Objects); err != nil {
			return nil, err
		}
	}
	warnUnknownTarget(opts)
	opts.Logger.Debug("read state", "clusters", len(st.Clusters), "machines", len(st.Machines), "live", loaded.REST != nil)
	if opts.Selection.Cluster == nil {
		opts.Selection.Namespace = loaded.Namespace
	}
	popts := planner.Options{Now: opts.Now(), Catalog: opts.Catalog, Versions: opts.Versions, PlannerVersion: opts.Version, Unread: loaded.Unread,
		FeatureGates: opts.FeatureGates, AssumeCovered: opts.AssumeCovered}
	if loaded.REST != nil {
		// Live: GenerateUpgradePlan extensions are called as CAPI calls them.
		rc, err := runtimeext.New(st, loaded.REST)
		if err != nil {
			return nil, err
		}
		popts.RuntimeClient = rc
		if opts.AskExtensions {
			c, err := ctrlclient.New(loaded.REST, ctrlclient.Options{Scheme: scheme.New()})
			if err != nil {
				return nil, err
			}
			popts.InPlaceAsker = &inplace.Checker{State: st, Runtime: rc, Client: c, Now: popts.Now}
		}
	}
	plan, err := planner.Plan(ctx, st, opts.Selection, popts)
	if err != nil {
		return nil, err
	}
	return &Made{Plan: plan, Loaded: loaded}, nil
}

// Saved returns the plan with its inputs, as `plan --out` writes it.
func (m *Made) Saved(opts *Options) *planfile.SavedPlan {
	sp := &planfile.SavedPlan{APIVersion: planfile.APIVersion, Kind: planfile.Kind,
		Code: planfile.Code{CAPIPlanner: opts.Version, ClusterAPI: planfile.ClusterAPIVersion()},
		Options: planfile.Options{To: opts.Selection.To.Raw, Versions: opts.Versions, FeatureGates: opts.FeatureGates,
			AssumeCovered: opts.AssumeCovered, AskExtensions: opts.AskExtensions, Ignore: opts.Ignore, Live: m.Loaded.REST != nil},
		Plan: *m.Plan}
	for _, c := range m.Plan.Clusters {
		in := planfile.ClusterInputs{Cluster: c.Cluster}
		if cl := planfile.ClusterOf(m.Loaded.State, c.Cluster); cl != nil {
			in.Objects = planfile.Collect(m.Loaded.State, cl)
		}
		sp.Inputs = append(sp.Inputs, in)
	}
	return sp
}

// Run reads the state, plans and renders.
func Run(ctx context.Context, opts *Options) error {
	made, err := Make(ctx, opts)
	if err != nil {
		return ExplainFlags(err)
	}
	plan, st := made.Plan, made.Loaded.State
	for _, e := range suppress.Apply(plan, opts.Ignore) {
		opts.Logger.Warn("the suppression matched no finding", "entry", e.String())
	}
	if opts.Out != "" {
		saved := made.Saved(opts)
		if err := safefile.WriteFile(opts.Out, "--out", func(w io.Writer) error {
			data, err := saved.Marshal()
			if err != nil {
				return err
			}
			_, err = w.Write(data)
			return err
		}); err != nil {
			return err
		}
		opts.Logger.Info("saved the plan: apply it with `capi-planner apply " + opts.Out + "`")
	}
	failed := 0
	for _, c := range plan.Clusters {
		if c.Status == planner.StatusRejected || c.Status == planner.StatusNeedsInput {
			failed++
			for _, r := range c.Rejections {
				fmt.Fprintf(opts.IO.ErrOut, "error: [%s] %s\n", r.Rule, r.Message)
			}
		}
	}
	warnFailedAsks(opts.IO.ErrOut, plan)
	// A single Cluster that cannot be planned has nothing else to show in a table.
	// (JSON, YAML and Markdown still carry the document, for CI.)
	if !(opts.Format == render.FormatTable && len(plan.Clusters) == 1 && failed == 1) {
		// Rendered whole first: an interrupted run writes nothing on stdout.
		ropts := render.Options{Format: opts.Format, Color: opts.IO.Color}
		if st.Sources != nil {
			ropts.Locate = func(ref planner.ObjectRef) (string, int, bool) {
				src, ok := st.SourceOf(ref.Kind, ref.Namespace, ref.Name)
				return src.File, src.Line, ok
			}
		}
		var out bytes.Buffer
		if err := render.Plan(&out, plan, ropts); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := opts.IO.Out.Write(out.Bytes()); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &RejectedError{Clusters: failed}
	}
	if opts.FailOn != nil {
		if violations := opts.FailOn.Check(plan); len(violations) > 0 {
			for _, v := range violations {
				fmt.Fprintf(opts.IO.ErrOut, "policy: %s\n", v)
			}
			return &PolicyError{Violations: len(violations)}
		}
	}
	if opts.DetailedExitCode && upgradePlanned(plan) {
		return &ChangesError{}
	}
	return nil
}

// warnFailedAsks says on stderr which --ask-extensions calls got no answer: their
// verdicts are assumptions, and a CI log must show it, not only the JSON.
func warnFailedAsks(w io.Writer, plan *planner.UpgradePlan) {
	for _, c := range plan.Clusters {
		for _, s := range c.Steps {
			for _, ch := range s.Changes {
				if p := ch.Prediction; p != nil && p.AskFailed != "" {
					fmt.Fprintf(w, "warning: Cluster %s/%s step %d, %s %s: --ask-extensions got no answer (%s); the verdict %s is assumed\n",
						c.Cluster.Namespace, c.Cluster.Name, s.Number, ch.Object.Kind, ch.Object.Name, p.AskFailed, p.Verdict)
				}
			}
		}
	}
}

// upgradePlanned reports whether some selected Cluster has steps to run.
func upgradePlanned(p *planner.UpgradePlan) bool {
	for _, c := range p.Clusters {
		if len(c.Steps) > 0 {
			return true
		}
	}
	return false
}

// ChangesError is returned with --detailed-exitcode when an upgrade is planned:
// not a failure, as Terraform's exit 2 is not.
type ChangesError struct{}

func (*ChangesError) Error() string { return "an upgrade is planned" }

// PolicyError is returned when the plan breaks --fail-on; the violations were written to stderr.
type PolicyError struct{ Violations int }

func (e *PolicyError) Error() string { return fmt.Sprintf("%d policy violations", e.Violations) }
