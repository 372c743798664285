package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/blang/semver/v4"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/cluster-api/util/version"

	"github.com/capi-planner/capi-planner/state"
)

// classNotReconciled mirrors the topology controller's first check
// (core/reconcilers/topology/cluster/cluster_controller.go:343-352): it does not
// reconcile a Cluster whose ClusterClass lacks VariablesReady=True or whose
// status.observedGeneration is behind metadata.generation, so nothing would move.
func classNotReconciled(c *clusterv1.Cluster, cc *clusterv1.ClusterClass) []Rejection {
	name := "Cluster " + c.Namespace + "/" + c.Name
	ccName := "ClusterClass " + cc.Namespace + "/" + cc.Name
	if !conditions.Has(cc, clusterv1.ClusterClassVariablesReadyCondition) || conditions.IsFalse(cc, clusterv1.ClusterClassVariablesReadyCondition) {
		why := "has no VariablesReady condition (the ClusterClass controller has not reconciled it)"
		if c := conditions.Get(cc, clusterv1.ClusterClassVariablesReadyCondition); c != nil {
			why = fmt.Sprintf("has VariablesReady=False (%s: %s)", c.Reason, strings.TrimSpace(c.Message))
		}
		return []Rejection{{Rule: RuleClassNotReconciled, Message: fmt.Sprintf("%s: %s %s, so CAPI's topology controller does not reconcile the Cluster and nothing would move: fix the ClusterClass (see its status) or check that the core controller runs", name, ccName, why)}}
	}
	if cc.Status.ObservedGeneration != cc.Generation {
		return []Rejection{{Rule: RuleClassNotReconciled, Message: fmt.Sprintf("%s: %s status.observedGeneration is %d, not metadata.generation %d, so CAPI's topology controller does not reconcile the Cluster until the ClusterClass controller catches up: wait for it, or check that the core controller runs", name, ccName, cc.Status.ObservedGeneration, cc.Generation)}}
	}
	return nil
}

// lifecycleRejections: Clusters CAPI does not act on at all.
func lifecycleRejections(c *clusterv1.Cluster) []Rejection {
	var out []Rejection
	name := "Cluster " + c.Namespace + "/" + c.Name
	if !c.DeletionTimestamp.IsZero() {
		out = append(out, Rejection{Rule: RuleDeleting, Message: fmt.Sprintf("%s is being deleted (metadata.deletionTimestamp is set); there is nothing to upgrade", name)})
	}
	if c.Spec.Paused != nil && *c.Spec.Paused {
		out = append(out, Rejection{Rule: RulePaused, Message: fmt.Sprintf("%s is paused (spec.paused: true), so CAPI does not reconcile it; set spec.paused to false before upgrading", name)})
	} else if _, ok := c.Annotations[clusterv1.PausedAnnotation]; ok {
		out = append(out, Rejection{Rule: RulePaused, Message: fmt.Sprintf("%s is paused (annotation %s), so CAPI does not reconcile it; remove the annotation before upgrading", name, clusterv1.PausedAnnotation)})
	}
	if !c.Spec.ControlPlaneRef.IsDefined() {
		out = append(out, Rejection{Rule: RuleNoControlPlane, Message: fmt.Sprintf("%s has no control plane (spec.controlPlaneRef is not set); capi-planner plans upgrades of Clusters with a CAPI control plane", name)})
	}
	return out
}

// topologyVersionRejections mirrors validateTopologyVersionUpdate and
// ValidateClusterForClusterClass (core/webhooks/admission/cluster.go) for a change
// of spec.topology.version from old to target.
func topologyVersionRejections(c *clusterv1.Cluster, cc *clusterv1.ClusterClass, old, target string, notLanded []string) []Rejection {
	oldV, errOld := parseVersion(old)
	newV, errNew := parseVersion(target)
	if errOld != nil || errNew != nil || oldV.String() == newV.String() {
		return nil
	}
	var out []Rejection
	name := "Cluster " + c.Namespace + "/" + c.Name
	ccName := cc.Namespace + "/" + cc.Name
	if list := cc.Spec.KubernetesVersions; len(list) > 0 && !slices.Contains(list, target) {
		out = append(out, Rejection{Rule: RuleNotInVersionList, Message: fmt.Sprintf("%s: %s is not in ClusterClass %s spec.kubernetesVersions (%s); CAPI's Cluster webhook only accepts listed versions: pick one of them or add it to the ClusterClass",
			name, target, ccName, strings.Join(list, ", "))})
	}
	if _, unsafe := c.Annotations[clusterv1.ClusterTopologyUnsafeUpdateVersionAnnotation]; unsafe {
		return out
	}
	if version.Compare(newV, oldV, version.WithoutPreReleases()) < 0 {
		out = append(out, Rejection{Rule: RuleDowngrade, Message: fmt.Sprintf("%s: %s is older than spec.topology.version %s; CAPI's Cluster webhook rejects version decreases: choose a target of %s or newer", name, target, old, old)})
	}
	if len(cc.Spec.KubernetesVersions) == 0 && cc.Spec.Upgrade.External.GenerateUpgradePlanExtension == "" {
		ceiling := semver.Version{Major: oldV.Major, Minor: oldV.Minor + 2}
		if version.Compare(newV, ceiling, version.WithoutPreReleases()) >= 0 {
			out = append(out, Rejection{Rule: RuleMoreThanOneMinor, Message: fmt.Sprintf("%s: %s is more than one minor above %s; ClusterClass %s has neither spec.kubernetesVersions nor spec.upgrade.external.generateUpgradePlanExtension, so CAPI's Cluster webhook allows at most v%d.%d.x per write, and the version source lacks a release of some minor in between to write first: pass --versions with a release of every minor in between, upgrade to v%d.%d first, or list the versions in the ClusterClass to chain the upgrade",
				name, target, old, ccName, oldV.Major, oldV.Minor+1, oldV.Major, oldV.Minor+1)})
		}
	}
	if hooks := c.Annotations[runtimev1.PendingHooksAnnotation]; slices.Contains(strings.Split(hooks, ","), hookAfterClusterUpgrade) {
		out = append(out, Rejection{Rule: RuleAfterClusterUpgrade, Message: fmt.Sprintf("%s: the AfterClusterUpgrade hook of the previous upgrade is still pending (annotation %s); CAPI's Cluster webhook rejects any spec.topology.version change until it completes; the topology controller calls it once the whole Cluster has landed, normally within seconds: if it stays pending, check that the extension handling AfterClusterUpgrade answers without asking to retry, then plan again", name, runtimev1.PendingHooksAnnotation)})
	}
	if len(notLanded) > 0 {
		out = append(out, Rejection{Rule: RuleUpgradeInProgress, Message: fmt.Sprintf("%s: the upgrade to %s has not landed (%s); CAPI's Cluster webhook rejects a new spec.topology.version until the control plane and every worker run %s: wait for it, or plan --to %s to see the remaining steps",
			name, old, strings.Join(notLanded, "; "), old, old)})
	}
	return out
}

// notLanded lists why the Cluster is not entirely at version, as the Cluster webhook
// checks it (cluster.go:498-644): the control plane at that spec.version and neither
// provisioning nor upgrading; every MachineDeployment at it with all Machines
// (spec.version and kubelet) at it; every MachinePool at it.
// With version "" it only checks that no rollout is under way (unmanaged Clusters,
// whose workers may lag the control plane at rest).
func notLanded(st *state.State, cp controlPlane, ws workerSet, version string) []string {
	var out []string
	switch {
	case version != "" && cp.version != version:
		out = append(out, fmt.Sprintf("%s spec.version is %s", cp.ref, cp.version))
	case cp.provisioning():
		out = append(out, fmt.Sprintf("%s reports no version yet (provisioning)", cp.ref))
	case cp.upgrading():
		out = append(out, fmt.Sprintf("%s is still rolling out (status reports %s)", cp.ref, strings.Join(cp.observed, ", ")))
	}
	for _, w := range ws.mds {
		if version != "" && w.version != version {
			out = append(out, fmt.Sprintf("%s is at %s", w.ref, w.version))
			continue
		}
		for _, m := range st.MachinesOf(ws.objects[w.ref]) {
			kubelet := ""
			if m.Status.NodeInfo != nil {
				kubelet = m.Status.NodeInfo.KubeletVersion
			}
			if m.Spec.Version != w.version || (kubelet != "" && kubelet != w.version) {
				out = append(out, fmt.Sprintf("%s is still rolling out (Machine %s runs %s)", w.ref, m.Name, firstNonEmpty(kubelet, m.Spec.Version)))
				break
			}
		}
	}
	for _, w := range ws.mps {
		if version != "" && w.version != version {
			out = append(out, fmt.Sprintf("%s is at %s", w.ref, w.version))
		}
	}
	return out
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
