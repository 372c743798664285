package planner

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/cluster-api/core/reconcilers/machinedeployment/mdutil"
)

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
