package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/core/reconcilers/machinedeployment/mdutil"

	"github.com/capi-planner/capi-planner/internal/english"
	"github.com/capi-planner/capi-planner/state"
)

// atRestFindings reports what is not at rest before the upgrade starts, with the
// steps it affects: Machines deleting, remediated, unhealthy or not ready;
// MachineDeployments still rolling out; paused objects; MachineSets that skip
// their preflight checks.
func atRestFindings(st *state.State, c *clusterv1.Cluster, cpRef ObjectRef, ws workerSet, steps []Step, now time.Time, g gates) []Finding {
	var out []Finding
	var paused []ObjectRef // the owners of paused objects
	var pausedNames []string
	var pausedSteps []int
	cpSteps := stepsOf(steps, cpRef)
	if cp := st.ControlPlane(c); cp != nil && hasPausedAnnotation(cp.GetAnnotations()) {
		paused, pausedNames, pausedSteps = append(paused, cpRef), append(pausedNames, cpRef.String()), append(pausedSteps, cpSteps...)
	}
	if f, ok := machinesNotAtRest(cpRef, st.ControlPlaneMachines(c.Namespace, cpRef.Name), cpSteps); ok {
		out = append(out, f)
	}
	for _, ref := range sortedRefs(ws.objects) {
		md := ws.objects[ref]
		mdSteps := stepsOf(steps, ref)
		machines := st.MachinesOf(md)
		if f, ok := machinesNotAtRest(ref, machines, mdSteps); ok {
			out = append(out, f)
		}
		var pausedHere []string
		if hasPausedAnnotation(md.Annotations) {
			pausedHere = append(pausedHere, ref.String())
		}
		msList := st.MachineSetsOf(md)
		var skipping []string
		if v := md.Annotations[clusterv1.MachineSetSkipPreflightChecksAnnotation]; v != "" {
			skipping = append(skipping, fmt.Sprintf("%s (%s)", ref, v))
		}
		for _, ms := range msList {
			if hasPausedAnnotation(ms.Annotations) {
				pausedHere = append(pausedHere, "MachineSet "+ms.Namespace+"/"+ms.Name)
			}
			if v := ms.Annotations[clusterv1.MachineSetSkipPreflightChecksAnnotation]; v != "" {
				skipping = append(skipping, fmt.Sprintf("MachineSet %s/%s (%s)", ms.Namespace, ms.Name, v))
			}
		}
		for _, m := range machines {
			if hasPausedAnnotation(m.Annotations) {
				pausedHere = append(pausedHere, "Machine "+m.Namespace+"/"+m.Name)
			}
		}
		if len(pausedHere) > 0 {
			paused, pausedNames, pausedSteps = append(paused, ref), append(pausedNames, pausedHere...), append(pausedSteps, mdSteps...)
		}
		if len(skipping) > 0 && len(mdSteps) > 0 {
			// The checks guard the steps during which the MachineDeployment lags the control plane.
			lagging := []int{}
			for n := 1; n <= mdSteps[0]; n++ {
				lagging = append(lagging, n)
			}
			out = append(out, conditional(Finding{Rule: RulePreflightChecksSkipped, Objects: []ObjectRef{ref}, Steps: lagging,
				Message: fmt.Sprintf("%s %s MachineSet preflight checks (annotation %s): while %s lags the control plane, it creates Machines that the skew checks would stop, including Machines kubeadm cannot join",
					strings.Join(skipping, ", "), english.Choose("skips", "skip", len(skipping)), clusterv1.MachineSetSkipPreflightChecksAnnotation, ref.Name)}, preflightOn(g))...)
		}
		if len(msList) > 0 && len(mdSteps) > 0 {
			if newMS, oldMSs, _, _ := mdutil.FindNewAndOldMachineSets(md, msList, metav1.NewTime(now)); newMS != nil {
				old := 0
				for _, ms := range oldMSs {
					old += int(max(ptrOr(ms.Spec.Replicas, 0), ptrOr(ms.Status.Replicas, 0)))
				}
				if old > 0 {
					out = append(out, Finding{Rule: RuleMachineDeploymentRollingOut, Objects: []ObjectRef{ref}, Steps: mdSteps[:1],
						Message: fmt.Sprintf("%s is still rolling out: its old MachineSets hold %d %s; step %d changes its template again, and the two rollouts overlap: let this one finish first",
							ref, old, english.Plural("Machine", old), mdSteps[0])})
				}
			}
		}
	}
	if len(paused) > 0 && len(pausedSteps) > 0 {
		slices.Sort(pausedSteps)
		out = append(out, Finding{Rule: RuleObjectPaused, Objects: paused, Steps: slices.Compact(pausedSteps),
			Message: fmt.Sprintf("%s %s paused (annotation %s): CAPI does not reconcile them, so the steps that move them stall until the annotation is removed",
				strings.Join(pausedNames, ", "), english.Choose("is", "are", len(pausedNames)), clusterv1.PausedAnnotation)})
	}
	return out
}

// machinesNotAtRest groups the owner's Machines that are being deleted,
// remediated, unhealthy or not ready into one finding.
func machinesNotAtRest(owner ObjectRef, machines []*clusterv1.Machine, steps []int) (Finding, bool) {
	groups := map[string][]string{}
	order := []string{"being deleted", "being remediated", "unhealthy (MachineHealthCheck)", "not ready"}
	for _, m := range machines {
		remediated := meta.FindStatusCondition(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)
		health := meta.FindStatusCondition(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)
		ready := meta.FindStatusCondition(m.Status.Conditions, clusterv1.MachineReadyCondition)
		switch {
		case !m.DeletionTimestamp.IsZero():
			groups[order[0]] = append(groups[order[0]], m.Name)
		case remediated != nil && remediated.Status == metav1.ConditionFalse:
			groups[order[1]] = append(groups[order[1]], m.Name)
		case health != nil && health.Status == metav1.ConditionFalse:
			groups[order[2]] = append(groups[order[2]], m.Name)
		case ready != nil && ready.Status != metav1.ConditionTrue:
			groups[order[3]] = append(groups[order[3]], m.Name)
		}
	}
	var parts []string
	for _, g := range order {
		if names := groups[g]; len(names) > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (%s)", len(names), g, strings.Join(names, ", ")))
		}
	}
	if len(parts) == 0 || len(steps) == 0 {
		return Finding{}, false
	}
	return Finding{Rule: RuleMachinesNotAtRest, Objects: []ObjectRef{owner}, Steps: steps,
		Message: fmt.Sprintf("%s is not at rest: %s Machines %s; its rollout at %s waits for them or replaces them on top: upgrade when they are healthy",
			owner, english.Plural("Machine", len(machines)), strings.Join(parts, ", "), StepRanges(steps))}, true
}

// stepsOf lists the numbers of the steps that change the object.
func stepsOf(steps []Step, ref ObjectRef) []int {
	var out []int
	for _, s := range steps {
		for _, c := range s.Changes {
			if c.Object == ref {
				out = append(out, s.Number)
				break
			}
		}
	}
	return out
}

func hasPausedAnnotation(a map[string]string) bool {
	_, ok := a[clusterv1.PausedAnnotation]
	return ok
}

func sortedRefs[V any](m map[ObjectRef]V) []ObjectRef {
	out := make([]ObjectRef, 0, len(m))
	for ref := range m {
		out = append(out, ref)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
