package planner

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fielddiff"
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
