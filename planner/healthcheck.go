package planner

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/state"
)

// healthCheckFindings reports the Cluster's MachineHealthChecks that count
// unhealthy Machines: they remediate them (the owners replace them) while the
// steps that move the same objects run, or have stopped remediating
// (RemediationAllowed False: more unhealthy Machines than maxUnhealthy or
// unhealthyRange allow), which leaves the upgrade's new Machines unremediated
// too. The steps are those of the objects whose Machines they select.
func healthCheckFindings(st *state.State, c *clusterv1.Cluster, cpRef ObjectRef, ws workerSet, steps []Step) []Finding {
	var out []Finding
	for _, mhc := range st.MachineHealthChecks {
		if mhc.Namespace != c.Namespace || mhc.Spec.ClusterName != c.Name {
			continue
		}
		expected, healthy := ptrOr(mhc.Status.ExpectedMachines, 0), ptrOr(mhc.Status.CurrentHealthy, 0)
		allowed := meta.FindStatusCondition(mhc.Status.Conditions, clusterv1.MachineHealthCheckRemediationAllowedCondition)
		stopped := allowed != nil && allowed.Status == metav1.ConditionFalse
		if expected <= healthy && !stopped {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&mhc.Spec.Selector)
		if err != nil {
			continue
		}
		var objects []ObjectRef
		var affected []int
		selects := func(ref ObjectRef, machines []*clusterv1.Machine) {
			for _, m := range machines {
				if sel.Matches(labels.Set(m.Labels)) {
					objects = append(objects, ref)
					affected = append(affected, stepsOf(steps, ref)...)
					return
				}
			}
		}
		selects(cpRef, st.ControlPlaneMachines(c.Namespace, cpRef.Name))
		for _, ref := range sortedRefs(ws.objects) {
			selects(ref, st.MachinesOf(ws.objects[ref]))
		}
		if len(affected) == 0 {
			continue
		}
		slices.Sort(affected)
		affected = slices.Compact(affected)
		ref := ObjectRef{Kind: "MachineHealthCheck", Namespace: mhc.Namespace, Name: mhc.Name}
		what := fmt.Sprintf("it is remediating them: their owners replace them around %s", StepRanges(affected))
		if stopped {
			what = fmt.Sprintf("it has stopped remediating (RemediationAllowed is False: %s), so it will not remediate the Machines the upgrade creates either", allowed.Message)
		}
		out = append(out, Finding{Rule: RuleMachineHealthCheckRemediating, Objects: append([]ObjectRef{ref}, objects...), Steps: affected,
			Message: fmt.Sprintf("%s counts %d of %d Machines unhealthy: %s; let the remediation finish before upgrading", ref, expected-healthy, expected, what)})
	}
	return out
}
