package upgrade

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// stallWatch decides when waiting has become a stall worth saying: when what
// is pending has not changed for after. It says the stall again each time its
// reasons change while it lasts, because the controllers may write the cause
// (a blocking hook's answer, say) only after the stall began.
type stallWatch struct {
	after    time.Duration
	lastMove time.Time
	pending  string
	said     bool
	reasons  string
}

// observe takes what is pending now. It returns the reasons to say, how long
// nothing has moved, and whether to say it; why is called only once stalled.
func (s *stallWatch) observe(now time.Time, pending []string, why func() []string) ([]string, time.Duration, bool) {
	if p := strings.Join(pending, "\n"); p != s.pending {
		s.pending, s.lastMove, s.said, s.reasons = p, now, false, ""
	}
	still := now.Sub(s.lastMove)
	if s.after <= 0 || still < s.after {
		return nil, still, false
	}
	reasons := why()
	joined := strings.Join(reasons, "\n")
	if s.said && joined == s.reasons {
		return nil, still, false
	}
	s.said, s.reasons = true, joined
	return reasons, still, true
}

// whyStalled says, from the objects alone, why an upgrade does not move: a
// paused object, a blocking lifecycle hook or a deferred upgrade (from the
// Cluster's TopologyReconciled condition, in the topology controller's own
// words), an OnDelete MachineDeployment waiting for deletions, a MachineSet
// whose preflight checks block new Machines, a Machine stuck provisioning,
// draining or updating in place, or what the control plane says blocks it.
//
// CAPI does not write a blocking hook's retryAfterSeconds on any object (only
// in its logs), so the hook's message is all that can be shown.
func whyStalled(v *view, pending []string) []string {
	var out []string
	c := v.cluster
	if c.Spec.Paused != nil && *c.Spec.Paused {
		out = append(out, fmt.Sprintf("Cluster %s is paused (spec.paused): the controllers do nothing until it is unpaused", c.Name))
	}
	if _, ok := c.Annotations[clusterv1.PausedAnnotation]; ok {
		out = append(out, fmt.Sprintf("Cluster %s has the %s annotation: the topology controller does nothing until it is removed", c.Name, clusterv1.PausedAnnotation))
	}
	if cond := meta.FindStatusCondition(c.Status.Conditions, clusterv1.ClusterTopologyReconciledCondition); cond != nil && cond.Status != metav1.ConditionTrue {
		out = append(out, topologyLines(cond)...)
	}
	if _, ok := v.controlPlane.GetAnnotations()[clusterv1.PausedAnnotation]; ok {
		out = append(out, fmt.Sprintf("%s %s has the %s annotation", v.controlPlane.GetKind(), v.controlPlane.GetName(), clusterv1.PausedAnnotation))
	}
	out = append(out, blockedLines(v.controlPlane.GetKind()+" "+v.controlPlane.GetName(), unstructuredConditions(v.controlPlane), "ScalingUp", "ScalingDown")...)
	for _, md := range v.mds {
		name := "MachineDeployment " + md.Name
		if md.Spec.Paused != nil && *md.Spec.Paused {
			out = append(out, name+" is paused (spec.paused): it does not roll out")
		}
		if md.Spec.Rollout.Strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType {
			var old []string
			for _, m := range v.machinesOf(clusterv1.MachineDeploymentNameLabel, md.Name) {
				if m.Spec.Version != md.Spec.Template.Spec.Version && m.DeletionTimestamp.IsZero() {
					old = append(old, m.Name)
				}
			}
			if len(old) > 0 {
				sort.Strings(old)
				out = append(out, fmt.Sprintf("%s uses the OnDelete strategy: it replaces a Machine only after you delete it; delete %s to go on", name, strings.Join(old, ", ")))
			}
		}
	}
	for _, ms := range v.machineSets {
		out = append(out, blockedLines("MachineSet "+ms.Name, ms.Status.Conditions, "ScalingUp")...)
	}
	for _, m := range v.machines {
		out = append(out, machineLines(&m)...)
	}
	if len(out) == 0 {
		out = append(out, pending...)
	}
	return out
}

// topologyLines picks from the TopologyReconciled message the lines that say
// why the upgrade waits: blocking hooks, deferred workers, a failed reconcile.
func topologyLines(cond *metav1.Condition) []string {
	if cond.Reason != clusterv1.ClusterTopologyReconciledClusterUpgradingReason {
		return []string{fmt.Sprintf("Cluster TopologyReconciled is %s (%s): %s", cond.Status, cond.Reason, oneLine(cond.Message))}
	}
	var out []string
	for _, line := range strings.Split(cond.Message, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if strings.Contains(line, "hooks are blocking") || strings.Contains(line, "deferred") {
			out = append(out, "Cluster: "+line)
		}
	}
	return out
}

// blockedLines reports a scaling condition that says it is blocked.
func blockedLines(name string, conds []metav1.Condition, types ...string) []string {
	var out []string
	for _, t := range types {
		if cond := meta.FindStatusCondition(conds, t); cond != nil && strings.Contains(cond.Message, "blocked because") {
			out = append(out, fmt.Sprintf("%s %s: %s", name, t, oneLine(cond.Message)))
		}
	}
	return out
}

// machineLines says what a Machine is stuck on: deletion (draining, volume
// detach, hooks), an update in place, or provisioning.
func machineLines(m *clusterv1.Machine) []string {
	name := "Machine " + m.Name
	if cond := meta.FindStatusCondition(m.Status.Conditions, clusterv1.MachineDeletingCondition); cond != nil && cond.Status == metav1.ConditionTrue && !m.DeletionTimestamp.IsZero() {
		return []string{fmt.Sprintf("%s is deleting (%s): %s", name, cond.Reason, oneLine(cond.Message))}
	}
	if cond := meta.FindStatusCondition(m.Status.Conditions, clusterv1.MachineUpdatingCondition); cond != nil && cond.Status == metav1.ConditionTrue {
		return []string{fmt.Sprintf("%s is updating in place (%s): %s", name, cond.Reason, oneLine(cond.Message))}
	}
	switch clusterv1.MachinePhase(m.Status.Phase) {
	case clusterv1.MachinePhasePending, clusterv1.MachinePhaseProvisioning, clusterv1.MachinePhaseProvisioned:
		for _, t := range []string{clusterv1.MachineBootstrapConfigReadyCondition, clusterv1.MachineInfrastructureReadyCondition, clusterv1.MachineNodeReadyCondition} {
			if cond := meta.FindStatusCondition(m.Status.Conditions, t); cond != nil && cond.Status != metav1.ConditionTrue {
				return []string{fmt.Sprintf("%s is %s, %s is %s: %s", name, strings.ToLower(m.Status.Phase), t, cond.Status, oneLine(cond.Message))}
			}
		}
		return []string{fmt.Sprintf("%s is %s", name, strings.ToLower(m.Status.Phase))}
	}
	return nil
}

func unstructuredConditions(u *unstructured.Unstructured) []metav1.Condition {
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var out []metav1.Condition
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		c := metav1.Condition{}
		c.Type, _ = m["type"].(string)
		s, _ := m["status"].(string)
		c.Status = metav1.ConditionStatus(s)
		c.Reason, _ = m["reason"].(string)
		c.Message, _ = m["message"].(string)
		out = append(out, c)
	}
	return out
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
