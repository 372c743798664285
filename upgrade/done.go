package upgrade

import (
	"fmt"
	"slices"
	"strings"

	"github.com/blang/semver/v4"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/planner"
)

// stepDone reports whether the controllers have finished the step, and if not,
// what is still under way. A change is finished when its object is at rest at
// the change's version (observed, every replica up to date and available, no
// Machine of another version left), or has already moved past it: a later
// step may start the moment this one ends.
func stepDone(v *view, step planner.Step, cpRef planner.ObjectRef) (bool, []string) {
	var pending []string
	for _, ch := range step.Changes {
		var why string
		switch {
		case ch.Object == cpRef:
			why = controlPlaneAt(v, ch.To)
		case ch.Object.Kind == "MachineDeployment":
			why = machineDeploymentAt(v, ch.Object.Name, ch.To)
		case ch.Object.Kind == "MachinePool":
			why = machinePoolAt(v, ch.Object.Name, ch.To)
		default:
			why = fmt.Sprintf("%s: apply cannot tell when it is done", ch.Object)
		}
		if why != "" {
			pending = append(pending, why)
		}
	}
	return len(pending) == 0, pending
}

// topologyVersionField is the field a topology Cluster's upgrade is written to.
const topologyVersionField = "spec.topology.version"

// previousUpgradeFinished reports whether the topology controller has finished
// the Cluster's last upgrade: its AfterClusterUpgrade hook is no longer in the
// pending-hooks annotation, and the controller has dropped the upgrade-step
// annotation it keeps while that hook is pending.
//
// The pending-hooks annotation alone is not enough. CAPI v1.14.2 computes the
// desired Cluster (annotations included) before it calls AfterClusterUpgrade,
// and its Cluster patch then writes the hook back a millisecond after marking
// it done (core/reconcilers/topology/cluster/reconcile_state.go:76,103). A
// version written in that gap is admitted by the webhook, but the controller
// then sees the hook pending, takes the new version for the next step of the
// same upgrade and skips BeforeClusterUpgrade. The loop ends only with the
// reconcile that reads the hook done, which also drops the upgrade-step
// annotation (exp/topology/desiredstate/desired_state.go:774-784); from then
// on nothing writes either annotation again.
func previousUpgradeFinished(v *view) (bool, []string) {
	if slices.Contains(strings.Split(v.cluster.Annotations[runtimev1.PendingHooksAnnotation], ","), "AfterClusterUpgrade") {
		return false, []string{fmt.Sprintf("Cluster %s: the previous upgrade's AfterClusterUpgrade hook has not been called yet (annotation %s)", v.cluster.Name, runtimev1.PendingHooksAnnotation)}
	}
	if step, ok := v.cluster.Annotations[clusterv1.ClusterTopologyUpgradeStepAnnotation]; ok {
		return false, []string{fmt.Sprintf("Cluster %s: the topology controller still tracks the upgrade to %s (annotation %s); it drops it once it has seen AfterClusterUpgrade done", v.cluster.Name, step, clusterv1.ClusterTopologyUpgradeStepAnnotation)}
	}
	return true, nil
}

// past reports whether version is newer than to.
func past(version, to string) bool {
	a, errA := semver.ParseTolerant(version)
	b, errB := semver.ParseTolerant(to)
	return errA == nil && errB == nil && a.GT(b)
}

// replicated is what a control plane or MachineDeployment says of its rollout.
type replicated struct {
	name                                string
	version                             string
	generation, observed                int64
	want, replicas, upToDate, available int64
}

// at says why the object is not at rest at version to ("" when it is or has
// moved past it), and whether its Machines must still be looked at.
func (r replicated) at(to string) (why string, checkMachines bool) {
	switch {
	case past(r.version, to):
		return "", false
	case r.version != to:
		return fmt.Sprintf("%s is at %s, not yet %s", r.name, r.version, to), false
	case r.observed != r.generation || r.replicas != r.want || r.upToDate != r.want || r.available != r.want:
		return fmt.Sprintf("%s: %d replicas, %d up to date, %d available, want %d", r.name, r.replicas, r.upToDate, r.available, r.want), false
	}
	return "", true
}

func controlPlaneAt(v *view, to string) string {
	cp := v.controlPlane
	field := func(path ...string) int64 {
		n, _, _ := unstructured.NestedInt64(cp.Object, path...)
		return n
	}
	version, _, _ := unstructured.NestedString(cp.Object, "spec", "version")
	r := replicated{name: cp.GetKind() + " " + cp.GetName(), version: version, generation: cp.GetGeneration(),
		observed: field("status", "observedGeneration"), want: field("spec", "replicas"), replicas: field("status", "replicas"),
		upToDate: field("status", "upToDateReplicas"), available: field("status", "availableReplicas")}
	if why, check := r.at(to); !check {
		return why
	}
	return machinesAt(r.name, v.machinesOf(clusterv1.MachineControlPlaneNameLabel, cp.GetName()), int(r.want), to)
}

func machineDeploymentAt(v *view, name, to string) string {
	for _, md := range v.mds {
		if md.Name != name {
			continue
		}
		s := md.Status
		r := replicated{name: "MachineDeployment " + name, version: md.Spec.Template.Spec.Version, generation: md.Generation,
			observed: s.ObservedGeneration, want: int64(ptrInt32(md.Spec.Replicas)), replicas: int64(ptrInt32(s.Replicas)),
			upToDate: int64(ptrInt32(s.UpToDateReplicas)), available: int64(ptrInt32(s.AvailableReplicas))}
		if why, check := r.at(to); !check {
			return why
		}
		// Its status alone is not enough: right after a change of its spec it
		// can report every replica up to date before the new MachineSet exists.
		return machinesAt(r.name, v.machinesOf(clusterv1.MachineDeploymentNameLabel, name), int(r.want), to)
	}
	return "MachineDeployment " + name + " is gone"
}

// machinePoolAt judges a MachinePool by its status versions: its
// upToDateReplicas say nothing of versions.
func machinePoolAt(v *view, name, to string) string {
	for _, mp := range v.mps {
		if mp.Name != name {
			continue
		}
		if past(mp.Spec.Template.Spec.Version, to) {
			return ""
		}
		ref := "MachinePool " + name
		if mp.Spec.Template.Spec.Version != to {
			return fmt.Sprintf("%s is at %s, not yet %s", ref, mp.Spec.Template.Spec.Version, to)
		}
		want := ptrInt32(mp.Spec.Replicas)
		if mp.Status.ObservedGeneration != mp.Generation {
			return fmt.Sprintf("%s: generation %d not observed yet", ref, mp.Generation)
		}
		if ptrInt32(mp.Status.AvailableReplicas) != want {
			return fmt.Sprintf("%s: %d available, want %d", ref, ptrInt32(mp.Status.AvailableReplicas), want)
		}
		for _, sv := range mp.Status.Versions {
			if sv.Version != to {
				return fmt.Sprintf("%s: %d replicas still at %s", ref, sv.Replicas, sv.Version)
			}
		}
		return ""
	}
	return "MachinePool " + name + " is gone"
}

func machinesAt(owner string, machines []clusterv1.Machine, want int, to string) string {
	if len(machines) != want {
		return fmt.Sprintf("%s: %d Machines, want %d", owner, len(machines), want)
	}
	for _, m := range machines {
		if m.Spec.Version != to || !m.DeletionTimestamp.IsZero() {
			return fmt.Sprintf("%s: Machine %s at %s", owner, m.Name, m.Spec.Version)
		}
	}
	return ""
}

func (v *view) machinesOf(label, owner string) []clusterv1.Machine {
	var out []clusterv1.Machine
	for _, m := range v.machines {
		if m.Labels[label] == owner {
			out = append(out, m)
		}
	}
	return out
}

func ptrInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
