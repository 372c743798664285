package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	kcpdesiredstate "sigs.k8s.io/cluster-api/controlplane/kubeadm/pkg/desiredstate"
	"sigs.k8s.io/cluster-api/core/reconcilers/machinedeployment/mdutil"

	"github.com/capi-planner/capi-planner/internal/fielddiff"
	"github.com/capi-planner/capi-planner/internal/state"
	"github.com/capi-planner/capi-planner/internal/topologypatch"
)

// Field paths of the differences a step makes on Machines; --assume-extension-covers
// takes them. The in-place extension is always assumed to cover DiffVersion.
const (
	DiffVersion = "spec.version"
	// DiffKubeadmFeatureGates: KubeadmControlPlane's version-dependent kubeadm feature
	// gates (ControlPlaneKubeletLocalMode for 1.31 <= version < 1.36).
	DiffKubeadmFeatureGates = "kubeadmConfig.spec.clusterConfiguration.featureGates"
	// DiffTemplates stands for whatever ClusterClass patches change when they
	// cannot be evaluated (external patches offline, templates not read).
	DiffTemplates = "templates"
)

// CoverableObjects are the objects whose fields --assume-extension-covers takes
// (a field covers its subfields), besides DiffTemplates: the Machine's spec,
// its KubeadmConfig (or other bootstrap config) and its InfraMachine.
var CoverableObjects = []string{"spec", "kubeadmConfig.spec", "bootstrapConfig.spec", "infrastructureMachine.spec"}

// CheckCoverable checks a field path given to --assume-extension-covers.
func CheckCoverable(path string) error {
	if path == DiffTemplates {
		return nil
	}
	for _, o := range CoverableObjects {
		if fielddiff.Covers(o, path) {
			return nil
		}
	}
	return fmt.Errorf("%q is not a field of a Machine's objects: expected a path under %s (for example %s), or %s", path, strings.Join(CoverableObjects, ", "), DiffKubeadmFeatureGates, DiffTemplates)
}

// In-place hook names.
const (
	hookCanUpdateMachine    = "CanUpdateMachine"
	hookCanUpdateMachineSet = "CanUpdateMachineSet"
	hookUpdateMachine       = "UpdateMachine"
)

// gates are the feature gates of the running controllers that in-place updates need.
type gates struct {
	source               string
	coreKnown, kcpKnown  bool
	coreInPlace, coreSDK bool
	// corePreflight is MachineSetPreflightChecks (beta, on by default).
	corePreflight bool
	kcpInPlace    bool
}

// readGates reads InPlaceUpdates and RuntimeSDK from the core and KubeadmControlPlane
// controllers' --feature-gates (both alpha, off by default), or takes the override.
func readGates(st *state.State, override map[string]bool) gates {
	if override != nil {
		return gates{source: "--feature-gates", coreKnown: true, kcpKnown: true,
			coreInPlace: override["InPlaceUpdates"], coreSDK: override["RuntimeSDK"], kcpInPlace: override["InPlaceUpdates"],
			corePreflight: gateOr(override, gatePreflight, true)}
	}
	g := gates{source: "the controllers' --feature-gates"}
	for _, c := range st.ControllerInfo() {
		if c.FeatureGatesArg != "" {
			continue // unparsable: unknown
		}
		switch c.Provider {
		case "cluster-api":
			g.coreKnown, g.coreInPlace, g.coreSDK = true, c.FeatureGates["InPlaceUpdates"], c.FeatureGates["RuntimeSDK"]
			g.corePreflight = gateOr(c.FeatureGates, gatePreflight, true)
		case "control-plane-kubeadm":
			g.kcpKnown, g.kcpInPlace = true, c.FeatureGates["InPlaceUpdates"]
		}
	}
	return g
}

// predictor predicts the Machines of one Cluster's changes.
type predictor struct {
	// ctx is Plan's, for patch evaluation and extension calls.
	ctx      context.Context
	asker    InPlaceAsker
	st       *state.State
	cluster  *clusterv1.Cluster
	now      time.Time
	gates    gates
	hooks    hookRegistry
	covered  []string
	patchUse map[string][]string // version builtin -> patch names using it
	// patches evaluates the ClusterClass's patches (nil without patches, or
	// when they cannot be evaluated: patchErr says why).
	patches  *topologypatch.Evaluator
	patchErr error
	// The versions the patches are evaluated at: spec.topology.version before and
	// after the trigger, and the control plane's current version.
	fromTopology, toTopology, controlPlaneVersion string
}

func newPredictor(p *clusterPlanner, cc *clusterv1.ClusterClass, hooks hookRegistry) *predictor {
	covered := append([]string{DiffVersion}, p.opts.AssumeCovered...)
	pr := &predictor{ctx: p.ctx, asker: p.opts.InPlaceAsker, st: p.st, cluster: p.cluster, now: p.opts.Now, gates: p.gates,
		hooks: hooks, covered: covered, patchUse: versionBuiltinPatches(cc)}
	if cc != nil {
		// Also without patches: the ClusterClass's templates may have changed since
		// the topology controller last applied them (classDrift).
		pr.patches, pr.patchErr = topologypatch.New(p.st, p.cluster, cc, p.opts.RuntimeClient, p.sharedPatches)
	}
	pr.fromTopology, pr.toTopology, pr.controlPlaneVersion = p.cluster.Spec.Topology.Version, p.out.Target, p.out.Current.ControlPlane
	return pr
}

// versionBuiltinPatches lists, per version builtin, the ClusterClass patches that use it.
// External patches are listed under "external": they cannot be evaluated offline.
func versionBuiltinPatches(cc *clusterv1.ClusterClass) map[string][]string {
	out := map[string][]string{}
	if cc == nil {
		return out
	}
	for _, p := range cc.Spec.Patches {
		if p.External != nil {
			out["external"] = append(out["external"], p.Name)
			continue
		}
		raw, _ := json.Marshal(p.Definitions)
		for _, b := range []string{"builtin.controlPlane.version", "builtin.machineDeployment.version", "builtin.machinePool.version", "builtin.cluster.topology.version"} {
			if strings.Contains(string(raw), b) {
				out[b] = append(out[b], p.Name)
			}
		}
	}
	return out
}

// predict fills in the prediction of every change of the plan, and the totals.
func (pr *predictor) predict(steps []Step) (*MachineCounts, *Estimate) {
	total := &MachineCounts{}
	cpHistory, workerHistory := pr.histories()
	for i := range steps {
		s := &steps[i]
		stepTotal := &MachineCounts{}
		for j := range s.Changes {
			c := &s.Changes[j]
			c.Prediction = pr.change(c, i == pr.firstStepOf(steps, c.Object))
			ops := c.Prediction.Counts.Created + c.Prediction.Counts.UpdatedInPlace
			switch c.Object.Kind {
			case "KubeadmControlPlane":
				c.Prediction.Duration = cpHistory.estimate(ops, c.Prediction.parallel)
			case "MachineDeployment":
				c.Prediction.Duration = workerHistory.estimate(ops, c.Prediction.parallel)
			}
			stepTotal.add(c.Prediction.Counts)
			if c.Prediction.Rule == RuleManyExtensions || c.Prediction.Rule == RuleOnDelete {
				s.Blockers = append(s.Blockers, Blocker{Rule: c.Prediction.Rule, Objects: []ObjectRef{c.Object}, Message: c.Prediction.Reasons[0]})
			}
		}
		s.Machines = stepTotal
		s.Duration = stepEstimate(s)
		total.add(*stepTotal)
	}
	return total, totalEstimate(steps)
}

// histories are the Cluster's control plane and worker Machines' creation-to-ready times.
func (pr *predictor) histories() (controlPlane, workers *history) {
	var cp, w []*clusterv1.Machine
	if u := pr.st.ControlPlane(pr.cluster); u != nil {
		cp = pr.st.ControlPlaneMachines(u.GetNamespace(), u.GetName())
	}
	for _, md := range pr.st.MachineDeploymentsOf(pr.cluster) {
		w = append(w, pr.st.MachinesOf(md)...)
	}
	return machineHistory(cp), machineHistory(w)
}

func (pr *predictor) firstStepOf(steps []Step, obj ObjectRef) int {
	for i, s := range steps {
		for _, c := range s.Changes {
			if c.Object == obj {
				return i
			}
		}
	}
	return -1
}

func (pr *predictor) change(c *Change, firstStep bool) *Prediction {
	switch c.Object.Kind {
	case "MachinePool":
		n := pr.poolReplicas(c.Object)
		return &Prediction{Verdict: VerdictRollout, Basis: BasisRules, Rule: RuleMachinePool, Differences: []string{DiffVersion},
			Reasons: []string{"CAPI has no in-place path for MachinePools: the infrastructure provider replaces the nodes (for example by an instance refresh)"},
			Counts:  MachineCounts{Created: n, Deleted: n}}
	case "MachineDeployment":
		return pr.machineDeployment(c, firstStep)
	case "KubeadmControlPlane":
		return pr.controlPlane(c, firstStep)
	default:
		return &Prediction{Verdict: VerdictUnknown, Basis: BasisRules, Rule: RuleNotKubeadm, Differences: []string{DiffVersion},
			Reasons: []string{fmt.Sprintf("%s is not a KubeadmControlPlane: how it updates Machines is up to its provider", c.Object.Kind)}}
	}
}

// stepDifferences is what a change makes differ on the Machines.
type stepDifferences struct {
	diffs []string
	// templates carries what ClusterClass patches change onto the live objects (asking the extension).
	templates TemplateChanges
	// unevaluated are the ClusterClass patches that may change more, and why they were not evaluated.
	unevaluated []string
	why         error
}

// differences lists what changes on the Machines at change c: the version, extra,
// and what the ClusterClass patches change, evaluated with CAPI's patch engine.
// builtin is the version builtin of c's object, which suspects patches when the
// engine cannot run.
func (pr *predictor) differences(c *Change, builtin string, firstStep bool, extra ...string) stepDifferences {
	d := stepDifferences{diffs: append([]string{DiffVersion}, extra...)}
	if pr.patches == nil && pr.patchErr == nil {
		return d // no ClusterClass
	}
	change, err := pr.evaluate(c, firstStep)
	if err == nil {
		d.diffs = append(d.diffs, change.Differences...)
		d.templates = TemplateChanges{KubeadmConfigSpec: change.KubeadmConfigSpec, Bootstrap: change.Bootstrap, Infrastructure: change.Infrastructure}
		return d
	}
	d.why = err
	d.unevaluated = append(d.unevaluated, pr.patchUse[builtin]...)
	if firstStep {
		// builtin.cluster.topology.version changed with the trigger; frozen objects pick it up at their first step.
		d.unevaluated = append(d.unevaluated, pr.patchUse["builtin.cluster.topology.version"]...)
	}
	d.unevaluated = append(d.unevaluated, pr.patchUse["external"]...)
	if len(d.unevaluated) > 0 {
		d.diffs = append(d.diffs, DiffTemplates)
	}
	return d
}

// evaluate runs the ClusterClass patches before and after change c. An object's
// first step also picks up the trigger's spec.topology.version: the topology
// controller does not touch an object while its version change is pending.
func (pr *predictor) evaluate(c *Change, firstStep bool) (topologypatch.Change, error) {
	if pr.patchErr != nil {
		return topologypatch.Change{}, pr.patchErr
	}
	if !pr.patches.Touches(c.Object.Kind) {
		return topologypatch.Change{}, nil
	}
	before := topologypatch.Versions{Topology: pr.toTopology, ControlPlane: pr.controlPlaneVersion}
	if firstStep {
		// The state now, which classDrift evaluates too.
		before = pr.patches.CurrentVersions()
	}
	after := topologypatch.Versions{Topology: pr.toTopology, ControlPlane: pr.controlPlaneVersion}
	md := c.Object.Kind == "MachineDeployment"
	if md {
		if before.MachineDeployments == nil {
			before.MachineDeployments = map[string]string{}
		}
		before.MachineDeployments[c.Object.Name] = c.From
		after.MachineDeployments = map[string]string{c.Object.Name: c.To}
	} else {
		before.ControlPlane, after.ControlPlane = c.From, c.To
	}
	b, err := pr.patches.At(pr.ctx, before)
	if err != nil {
		return topologypatch.Change{}, err
	}
	a, err := pr.patches.At(pr.ctx, after)
	if err != nil {
		return topologypatch.Change{}, err
	}
	if !md {
		return topologypatch.ControlPlaneChange(b, a)
	}
	if obj := pr.md(c.Object); obj != nil {
		return topologypatch.MachineDeploymentChange(b, a, obj.Labels[clusterv1.ClusterTopologyMachineDeploymentNameLabel])
	}
	return topologypatch.Change{}, nil
}

// notEvaluated is the prediction of a change whose ClusterClass patches could not be evaluated.
func (pr *predictor) notEvaluated(p *Prediction, d stepDifferences) *Prediction {
	p.Verdict, p.Rule = VerdictUnknown, RulePatchesNotEvaluated
	p.Reasons = []string{fmt.Sprintf("ClusterClass patches %s may change more than the version, and were not evaluated: %v; in place only if the extension covers what they change (--assume-extension-covers=%s says it does)", strings.Join(d.unevaluated, ", "), d.why, DiffTemplates)}
	return p
}

// inPlaceBlocker says why in-place is impossible whatever the change ("" when possible),
// with the rule, and whether the answer is unknown rather than no.
func (pr *predictor) inPlaceBlocker(kcp bool) (rule RuleID, reason string, unknown bool) {
	g := pr.gates
	switch {
	case !g.coreKnown || (kcp && !g.kcpKnown):
		return RuleGatesUnknown, "the controllers' feature gates are unknown (their Deployments were not read): pass --feature-gates or include the capi-system Deployments in the snapshot", true
	case !g.coreInPlace || !g.coreSDK:
		return RuleGatesOff, fmt.Sprintf("in-place updates need InPlaceUpdates and RuntimeSDK on the core controller (%s): Machines are replaced", g.source), false
	case kcp && !g.kcpInPlace:
		return RuleGatesOff, fmt.Sprintf("in-place updates of control plane Machines need InPlaceUpdates on the KubeadmControlPlane controller too (%s): Machines are replaced", g.source), false
	}
	can := hookCanUpdateMachineSet
	if kcp {
		can = hookCanUpdateMachine
	}
	for _, hook := range []string{can, hookUpdateMachine} {
		switch n := len(pr.hooks[hook]); {
		case n == 0:
			return RuleNoExtension, fmt.Sprintf("no ExtensionConfig registers a %s handler for namespace %s: CAPI falls back to replacing Machines", hook, pr.cluster.Namespace), false
		case n > 1:
			return RuleManyExtensions, fmt.Sprintf("%d extensions register %s (%s); CAPI supports exactly one and errors on every reconcile: the rollout is stuck until one is removed", n, hook, strings.Join(pr.hooks[hook], ", ")), true
		}
	}
	return "", "", false
}

// ask asks the one registered handler of hook (--ask-extensions). When it answers,
// the prediction's basis becomes Confirmed and its notCovered what the extension
// does not cover; when the call fails, the prediction keeps its assumption. The
// reasons say which.
//
// call answers per object asked (the MachineSet, or each control plane Machine)
// what the extension does not cover; uncovered lists the objects it does not
// cover everything of, with what.
func (pr *predictor) ask(p *Prediction, hook string, call func(handler string) (map[string][]string, error)) (uncovered map[string][]string, reasons []string) {
	handler := pr.hooks[hook][0]
	answers, err := call(handler)
	if err != nil {
		p.AskFailed = fmt.Sprintf("%s %s: %v", hook, handler, err)
		return nil, []string{fmt.Sprintf("asking the extension failed (%v): the verdict rests on the assumption that it covers %s", err, strings.Join(pr.covered, ", "))}
	}
	p.Basis = BasisConfirmed
	uncovered = map[string][]string{}
	for name, nc := range answers {
		if len(nc) > 0 {
			uncovered[name] = nc
			for _, d := range nc {
				if !slices.Contains(p.NotCovered, d) {
					p.NotCovered = append(p.NotCovered, d)
				}
			}
		}
	}
	sort.Strings(p.NotCovered)
	switch {
	case len(uncovered) == 0:
		return nil, []string{fmt.Sprintf("asked with %s, the extension %s covers every difference", hook, handler)}
	case len(uncovered) == len(answers):
		return uncovered, []string{fmt.Sprintf("asked with %s, the extension %s does not cover %s: the Machines are replaced", hook, handler, strings.Join(p.NotCovered, ", "))}
	default:
		var names []string
		for name, nc := range uncovered {
			names = append(names, fmt.Sprintf("%s (%s)", name, strings.Join(nc, ", ")))
		}
		sort.Strings(names)
		return uncovered, []string{fmt.Sprintf("asked with %s, the extension %s covers every difference but for %s, which are replaced", hook, handler, strings.Join(names, "; "))}
	}
}

// coverage returns the differences the extension is not assumed to cover.
func (pr *predictor) coverage(diffs []string) []string {
	var out []string
	for _, d := range diffs {
		if !slices.ContainsFunc(pr.covered, func(c string) bool { return fielddiff.Covers(c, d) }) {
			out = append(out, d)
		}
	}
	return out
}

func (pr *predictor) controlPlane(c *Change, firstStep bool) *Prediction {
	kcp, machines := pr.kcp()
	if kcp == nil {
		return &Prediction{Verdict: VerdictUnknown, Basis: BasisRules, Rule: RuleNotKubeadm, Reasons: []string{"the KubeadmControlPlane could not be read"}}
	}
	n := replicas(kcp.Spec.Replicas)
	surge := 1
	if ms := kcp.Spec.Rollout.Strategy.RollingUpdate.MaxSurge; ms != nil && ms.IntValue() == 0 {
		surge = 0
	}
	var extra []string
	gateChange := kubeadmGatesChange(kcp, c.From, c.To)
	if gateChange != "" {
		extra = append(extra, DiffKubeadmFeatureGates)
	}
	d := pr.differences(c, "builtin.controlPlane.version", firstStep, extra...)
	p := &Prediction{Differences: d.diffs, Basis: BasisRules}
	p.parallel = 1 // KCP works on one Machine at a time
	rollout := func(rule RuleID, reasons ...string) *Prediction {
		p.Verdict, p.Rule, p.Reasons = VerdictRollout, rule, reasons
		p.Counts = MachineCounts{Created: n, Deleted: n, PeakExtra: surge}
		return p
	}
	if after := kcp.Spec.Rollout.After; !after.IsZero() && pr.now.After(after.Time) {
		return rollout(RuleRolloutAfter, fmt.Sprintf("spec.rollout.after (%s) has passed: CAPI replaces every Machine created before it, never in place", after.UTC().Format(time.RFC3339)))
	}
	if rule, reason, unknown := pr.inPlaceBlocker(true); rule != "" {
		if unknown {
			p.Verdict, p.Rule, p.Reasons = VerdictUnknown, rule, []string{reason}
			return p
		}
		return rollout(rule, reason)
	}
	if n == 1 {
		return rollout(RuleSingleReplica, "a single-replica control plane is always replaced: KCP scales up to 2 (maxSurge 1), then the old Machine is no longer needed and is deleted")
	}
	p.Basis = BasisAssumed
	var asked []string
	var uncovered map[string][]string
	if pr.asker != nil && len(d.unevaluated) == 0 {
		var answers int
		uncovered, asked = pr.ask(p, hookCanUpdateMachine, func(handler string) (map[string][]string, error) {
			a, err := pr.asker.CanUpdateMachine(pr.ctx, handler, pr.cluster, kcp, c.To, d.templates)
			answers = len(a)
			return a, err
		})
		if len(uncovered) > 0 && len(uncovered) == answers {
			return rollout(RuleNotCovered, asked...)
		}
	}
	if nc := pr.coverage(d.diffs); len(nc) > 0 && p.Basis != BasisConfirmed {
		p.NotCovered = nc
		if slices.Contains(nc, DiffTemplates) && len(nc) == 1 {
			return pr.notEvaluated(p, d)
		}
		why := fmt.Sprintf("the extension is assumed to cover %s only, not %s: CAPI's CanUpdateMachine check fails and KCP replaces the Machines", strings.Join(pr.covered, ", "), strings.Join(nc, ", "))
		if gateChange != "" && slices.Contains(nc, DiffKubeadmFeatureGates) {
			why += " (" + gateChange + ")"
		}
		return rollout(RuleNotCovered, append([]string{why}, asked...)...)
	}
	// Machines KCP will not update in place (filters.go:52-111), or that the
	// extension does not cover, are replaced instead.
	replaced, why := pr.ineligibleKCPMachines(kcp, machines, uncovered)
	var counts MachineCounts
	reasons := []string{"gates on, one in-place extension, every difference assumed covered"}
	if p.Basis == BasisConfirmed {
		reasons = nil
	}
	reasons = append(append(reasons, asked...), why...)
	if surge == 1 {
		// Scale-up first (always a new Machine), in place while upToDate < replicas, then the last
		// old one is deleted; the surge Machine stands in for one Machine that must be replaced anyway.
		renewed := max(1, replaced)
		counts = MachineCounts{Created: renewed, UpdatedInPlace: n - renewed, Deleted: renewed, PeakExtra: 1}
		reasons = append(reasons, "maxSurge 1: KCP first creates one new Machine, updates the others in place, and deletes the last old one")
	} else {
		counts = MachineCounts{Created: replaced, UpdatedInPlace: n - replaced, Deleted: replaced}
		reasons = append(reasons, "maxSurge 0: KCP updates the Machines in place one at a time")
	}
	p.Counts, p.Reasons, p.Rule = counts, reasons, RuleInPlace
	p.Verdict = verdictOf(counts)
	return p
}

func (pr *predictor) machineDeployment(c *Change, firstStep bool) *Prediction {
	md := pr.md(c.Object)
	if md == nil {
		return &Prediction{Verdict: VerdictUnknown, Basis: BasisRules, Rule: RuleNotKubeadm, Reasons: []string{"the MachineDeployment could not be read"}}
	}
	n := replicas(md.Spec.Replicas)
	d := pr.differences(c, "builtin.machineDeployment.version", firstStep)
	p := &Prediction{Differences: d.diffs, Basis: BasisRules}
	if md.Spec.Rollout.Strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType {
		p.Verdict, p.Rule = VerdictRollout, RuleOnDelete
		p.Reasons = []string{fmt.Sprintf("%s uses the OnDelete strategy: never in place; new Machines come only as someone deletes the old ones, and the topology upgrade waits for it", c.Object)}
		p.Counts = MachineCounts{Created: n, Deleted: n}
		return p
	}
	// mdutil reads spec.replicas, which CAPI's webhook defaults and a snapshot may
	// leave out; it resolves maxSurge into an int32, which wraps for a percentage
	// over 100% of a huge count: never fewer than 0 Machines.
	defaulted := *md
	defaulted.Spec.Replicas = ptr.To(int32(n))
	surge, unavailable := max(0, int(mdutil.MaxSurge(defaulted))), max(0, int(mdutil.MaxUnavailable(defaulted)))
	p.parallel = surge + unavailable
	rollout := func(rule RuleID, reasons ...string) *Prediction {
		p.Verdict, p.Rule, p.Reasons = VerdictRollout, rule, reasons
		p.Counts = MachineCounts{Created: n, Deleted: n, PeakExtra: surge}
		return p
	}
	if after := pr.mdRolloutAfter(md); !after.IsZero() && pr.now.After(after) {
		return rollout(RuleRolloutAfter, fmt.Sprintf("rollout.after (%s) has passed: the old MachineSets are not eligible for in-place, every Machine is replaced", after.UTC().Format(time.RFC3339)))
	}
	if rule, reason, unknown := pr.inPlaceBlocker(false); rule != "" {
		if unknown {
			p.Verdict, p.Rule, p.Reasons = VerdictUnknown, rule, []string{reason}
			return p
		}
		return rollout(rule, reason)
	}
	if n == 1 && unavailable == 0 {
		return rollout(RuleSingleReplica, "one replica with maxUnavailable 0: the new MachineSet reaches the replica count with the surge Machine, so the old Machine is deleted")
	}
	p.Basis = BasisAssumed
	var asked []string
	if pr.asker != nil && len(d.unevaluated) == 0 {
		var uncovered map[string][]string
		uncovered, asked = pr.ask(p, hookCanUpdateMachineSet, func(handler string) (map[string][]string, error) {
			nc, err := pr.asker.CanUpdateMachineSet(pr.ctx, handler, md, c.To, d.templates)
			return map[string][]string{md.Name: nc}, err
		})
		if len(uncovered) > 0 {
			return rollout(RuleNotCovered, asked...)
		}
	}
	if nc := pr.coverage(d.diffs); len(nc) > 0 && p.Basis != BasisConfirmed {
		p.NotCovered = nc
		if slices.Contains(nc, DiffTemplates) && len(nc) == 1 {
			return pr.notEvaluated(p, d)
		}
		return rollout(RuleNotCovered, fmt.Sprintf("the extension is assumed to cover %s only, not %s: CAPI's CanUpdateMachineSet check fails and the MachineDeployment replaces the Machines", strings.Join(pr.covered, ", "), strings.Join(nc, ", ")))
	}
	// Machines without a node, or marked for remediation, are not moved but replaced.
	replaced, why := pr.unmovableMachines(md)
	reasons := []string{"gates on, one in-place extension, every difference assumed covered"}
	if p.Basis == BasisConfirmed {
		reasons = nil
	}
	reasons = append(append(reasons, asked...), why...)
	var counts MachineCounts
	if surge >= 1 && unavailable == 0 {
		renewed := max(1, replaced)
		counts = MachineCounts{Created: renewed, UpdatedInPlace: n - renewed, Deleted: renewed, PeakExtra: 1}
		reasons = append(reasons, fmt.Sprintf("maxSurge %d, maxUnavailable 0: one surge Machine is created for availability, the others move to the new MachineSet and are updated in place, and the last old one is deleted", surge))
	} else {
		counts = MachineCounts{Created: replaced, UpdatedInPlace: n - replaced, Deleted: replaced}
		reasons = append(reasons, fmt.Sprintf("maxSurge %d, maxUnavailable %d: the Machines move to the new MachineSet and are updated in place, %d at a time", surge, unavailable, max(1, unavailable)))
	}
	p.Counts, p.Reasons, p.Rule = counts, reasons, RuleInPlace
	p.Verdict = verdictOf(counts)
	return p
}

func verdictOf(c MachineCounts) Verdict {
	switch {
	case c.UpdatedInPlace == 0:
		return VerdictRollout
	case c.Created == 0 && c.Deleted == 0:
		return VerdictInPlace
	default:
		return VerdictMixed
	}
}

// kubeadmGatesChange describes how KCP's desired KubeadmConfig feature gates differ
// between two versions, with CAPI's own defaulting (DefaultFeatureGates); "" when not.
func kubeadmGatesChange(kcp *controlplanev1.KubeadmControlPlane, from, to string) string {
	gatesAt := func(v string) map[string]bool {
		spec := kcp.Spec.KubeadmConfigSpec.DeepCopy()
		if sv, err := parseVersion(v); err == nil {
			kcpdesiredstate.DefaultFeatureGates(spec, sv)
		}
		return spec.ClusterConfiguration.FeatureGates
	}
	before, after := gatesAt(from), gatesAt(to)
	var changes []string
	for g := range before {
		if _, ok := after[g]; !ok {
			changes = append(changes, fmt.Sprintf("the KubeadmConfig loses the %s kubeadm feature gate at %s", g, to))
		}
	}
	for g, v := range after {
		if old, ok := before[g]; !ok || old != v {
			changes = append(changes, fmt.Sprintf("the KubeadmConfig gets %s=%t at %s", g, v, to))
		}
	}
	sort.Strings(changes)
	return strings.Join(changes, "; ")
}

// ineligibleKCPMachines counts the control plane Machines KCP replaces rather than
// updates in place: delete or remediate annotations, certificates expiring.
// Machines in alsoReplaced (the extension does not cover them) are counted once.
func (pr *predictor) ineligibleKCPMachines(kcp *controlplanev1.KubeadmControlPlane, machines []*clusterv1.Machine, alsoReplaced map[string][]string) (int, []string) {
	var names []string
	days := kcp.Spec.Rollout.Before.CertificatesExpiryDays
	for _, m := range machines {
		if _, counted := alsoReplaced[m.Name]; counted {
			continue
		}
		switch {
		case hasAnnotation(m, clusterv1.DeleteMachineAnnotation):
			names = append(names, m.Name+" (delete-machine annotation)")
		case hasAnnotation(m, clusterv1.RemediateMachineAnnotation):
			names = append(names, m.Name+" (marked for remediation)")
		case days > 0 && !m.Status.CertificatesExpiryDate.IsZero() && pr.now.AddDate(0, 0, int(days)).After(m.Status.CertificatesExpiryDate.Time):
			names = append(names, fmt.Sprintf("%s (certificates expire %s, within rollout.before.certificatesExpiryDays %d)", m.Name, m.Status.CertificatesExpiryDate.UTC().Format("2006-01-02"), days))
		}
	}
	if len(names) == 0 {
		return len(alsoReplaced), nil
	}
	sort.Strings(names)
	return len(names) + len(alsoReplaced), []string{"replaced, not updated in place: " + strings.Join(names, ", ")}
}

// unmovableMachines counts the MachineDeployment's Machines that an in-place move deletes instead.
func (pr *predictor) unmovableMachines(md *clusterv1.MachineDeployment) (int, []string) {
	var names []string
	for _, m := range pr.st.MachinesOf(md) {
		switch {
		case !m.Status.NodeRef.IsDefined():
			names = append(names, m.Name+" (no node)")
		case hasAnnotation(m, clusterv1.RemediateMachineAnnotation):
			names = append(names, m.Name+" (marked for remediation)")
		}
	}
	if len(names) == 0 {
		return 0, nil
	}
	sort.Strings(names)
	return len(names), []string{"replaced, not moved: " + strings.Join(names, ", ")}
}

func (pr *predictor) mdRolloutAfter(md *clusterv1.MachineDeployment) time.Time {
	if !md.Spec.Rollout.After.IsZero() {
		return md.Spec.Rollout.After.Time
	}
	name := md.Labels[clusterv1.ClusterTopologyMachineDeploymentNameLabel]
	for _, e := range pr.cluster.Spec.Topology.Workers.MachineDeployments {
		if e.Name == name && !e.Rollout.After.IsZero() {
			return e.Rollout.After.Time
		}
	}
	return time.Time{}
}

// kcp reads the Cluster's KubeadmControlPlane (with its topology's rollout.after) and its Machines.
func (pr *predictor) kcp() (*controlplanev1.KubeadmControlPlane, []*clusterv1.Machine) {
	u := pr.st.ControlPlane(pr.cluster)
	if u == nil {
		return nil, nil
	}
	kcp := &controlplanev1.KubeadmControlPlane{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, kcp); err != nil {
		return nil, nil
	}
	if topo := pr.cluster.Spec.Topology.ControlPlane.Rollout.After; kcp.Spec.Rollout.After.IsZero() && !topo.IsZero() {
		kcp.Spec.Rollout.After = topo
	}
	return kcp, pr.st.ControlPlaneMachines(kcp.Namespace, kcp.Name)
}

func (pr *predictor) md(ref ObjectRef) *clusterv1.MachineDeployment {
	for _, md := range pr.st.MachineDeploymentsOf(pr.cluster) {
		if md.Name == ref.Name {
			return md
		}
	}
	return nil
}

func (pr *predictor) poolReplicas(ref ObjectRef) int {
	for _, mp := range pr.st.MachinePoolsOf(pr.cluster) {
		if mp.Name == ref.Name {
			return replicas(mp.Spec.Replicas)
		}
	}
	return 0
}

func hasAnnotation(m *clusterv1.Machine, key string) bool {
	_, ok := m.Annotations[key]
	return ok
}

// replicas is the count of Machines spec.replicas asks for: 1 when unset, as
// CAPI's webhooks default it, and never negative. A snapshot refuses a negative
// count, but the API server accepts one for a MachineDeployment or a MachinePool
// (their schemas do not bound it), so a live object may carry it.
func replicas(p *int32) int {
	return max(0, int(ptrOr(p, 1)))
}

func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// pendingRollouts finds MachineDeployments whose template already differs from
// every MachineSet's (CAPI's own mdutil.FindNewAndOldMachineSets), or that are
// paused: the pending change lands together with their version step, and the
// in-place extension must cover it too (double-rollout risk).
func (pr *predictor) pendingRollouts(steps []Step) []Finding {
	var out []Finding
	for _, md := range pr.st.MachineDeploymentsOf(pr.cluster) {
		ref := ObjectRef{Kind: "MachineDeployment", Namespace: md.Namespace, Name: md.Name}
		first := pr.firstStepOf(steps, ref)
		if first < 0 {
			continue
		}
		step := []int{steps[first].Number}
		if md.Spec.Paused != nil && *md.Spec.Paused {
			out = append(out, Finding{Rule: RulePausedMachineDeployment, Objects: []ObjectRef{ref}, Steps: step,
				Message: fmt.Sprintf("%s is paused (spec.paused): it does not roll out until unpaused, and every change made meanwhile lands at once", ref)})
		}
		msList := pr.st.MachineSetsOf(md)
		if len(msList) == 0 {
			continue
		}
		newMS, _, _, reason := mdutil.FindNewAndOldMachineSets(md, msList, metav1.NewTime(pr.now))
		if newMS == nil {
			out = append(out, Finding{Rule: RulePendingRollout, Objects: []ObjectRef{ref}, Steps: step,
				Message: fmt.Sprintf("%s already differs from its MachineSets (%s): that rollout lands together with its version step %d, and an in-place extension must cover it too", ref, strings.TrimSpace(reason), step[0])})
		}
	}
	return out
}

// topologyVersionPatches warns when ClusterClass patches use
// builtin.cluster.topology.version in a chained upgrade: it is the final target
// at every step, so objects render templates for the target, not for the
// version they step to.
func (pr *predictor) topologyVersionPatches(steps []Step) []Finding {
	patches := pr.patchUse["builtin.cluster.topology.version"]
	cpSteps := 0
	for _, s := range steps {
		if s.Kind == StepControlPlane {
			cpSteps++
		}
	}
	if len(patches) == 0 || cpSteps < 2 {
		return nil
	}
	return []Finding{{Rule: RuleTopologyVersionBuiltin, Objects: []ObjectRef{*clusterRef(pr.cluster)},
		Message: fmt.Sprintf("ClusterClass patches %s use builtin.cluster.topology.version, which is the final target (%s) at every step of this chained upgrade: the control plane's first step and each worker's first step get templates rendered for %s, not for the version they step to; key such patches on builtin.controlPlane.version or builtin.machineDeployment.version",
			strings.Join(patches, ", "), pr.toTopology, pr.toTopology)}}
}

// classDrift finds what the ClusterClass (with its patches) sets that the
// Cluster's control plane or MachineDeployment templates do not carry at their
// current versions: a ClusterClass change the topology controller has not
// applied yet. It lands at the latest with the object's first step, together
// with its version change: a double rollout, or one more difference the in-place
// extension must cover.
func (pr *predictor) classDrift(steps []Step) []Finding {
	if pr.patches == nil {
		return nil
	}
	drift, err := pr.patches.Drift(pr.ctx)
	if err != nil {
		return nil // the predictions say why the patches cannot be evaluated
	}
	cc := pr.cluster.Spec.Topology.ClassRef.Name
	finding := func(ref ObjectRef, diffs []string) []Finding {
		first := pr.firstStepOf(steps, ref)
		if len(diffs) == 0 || first < 0 {
			return nil
		}
		return []Finding{{Rule: RulePendingClusterClassChange, Objects: []ObjectRef{ref}, Steps: []int{steps[first].Number},
			Message: fmt.Sprintf("%s does not carry what ClusterClass %s sets at its current version (%s): the topology controller has not applied that change yet; it lands at the latest with step %d, together with the version change, and an in-place extension must cover it too",
				ref, cc, strings.Join(diffs, ", "), steps[first].Number)}}
	}
	var out []Finding
	if u := pr.st.ControlPlane(pr.cluster); u != nil {
		out = append(out, finding(ObjectRef{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}, drift.ControlPlane)...)
	}
	for _, md := range pr.st.MachineDeploymentsOf(pr.cluster) {
		out = append(out, finding(ObjectRef{Kind: "MachineDeployment", Namespace: md.Namespace, Name: md.Name}, drift.MachineDeployments[md.Name])...)
	}
	return out
}
