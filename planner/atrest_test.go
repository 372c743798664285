package planner

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
)

// Each not-at-rest finding fires on a Cluster made to trigger it, on the steps it
// affects, and stays silent on the others.
func TestAtRestFindings(t *testing.T) {
	machines := func(objs fleet.Objects, controlPlane bool) []*clusterv1.Machine {
		var out []*clusterv1.Machine
		for _, o := range objs {
			if m, ok := o.(*clusterv1.Machine); ok {
				if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; cp == controlPlane {
					out = append(out, m)
				}
			}
		}
		return out
	}
	condition := func(typ string, status metav1.ConditionStatus) func(objs fleet.Objects, controlPlane bool) {
		return func(objs fleet.Objects, controlPlane bool) {
			m := machines(objs, controlPlane)[0]
			meta.SetStatusCondition(&m.Status.Conditions, metav1.Condition{Type: typ, Status: status, Reason: "Test"})
		}
	}
	machineSet := func(objs fleet.Objects) *clusterv1.MachineSet {
		for _, o := range objs {
			if ms, ok := o.(*clusterv1.MachineSet); ok {
				return ms
			}
		}
		return nil
	}
	kcp, md := ObjectRef{Kind: "KubeadmControlPlane", Namespace: "ns", Name: "c-control-plane"}, ObjectRef{Kind: "MachineDeployment", Namespace: "ns", Name: "c-md-0"}
	tests := []struct {
		name    string
		mutate  func(objs fleet.Objects)
		extend  func(objs fleet.Objects) fleet.Objects
		gates   string
		want    RuleID
		objects []ObjectRef
		steps   []int
		message string
	}{
		{name: "at rest"},
		{name: "worker Machine deleting", mutate: func(objs fleet.Objects) {
			machines(objs, false)[0].DeletionTimestamp = ptr.To(metav1.Now())
		}, want: RuleMachinesNotAtRest, objects: []ObjectRef{md}, steps: []int{4}, message: "1 being deleted (c-md-0-"},
		{name: "control plane Machine remediated", mutate: func(objs fleet.Objects) {
			condition(clusterv1.MachineOwnerRemediatedCondition, metav1.ConditionFalse)(objs, true)
		}, want: RuleMachinesNotAtRest, objects: []ObjectRef{kcp}, steps: []int{1, 2, 3}, message: "1 being remediated"},
		{name: "worker Machine unhealthy", mutate: func(objs fleet.Objects) {
			condition(clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionFalse)(objs, false)
		}, want: RuleMachinesNotAtRest, objects: []ObjectRef{md}, steps: []int{4}, message: "unhealthy (MachineHealthCheck)"},
		{name: "worker Machine not ready", mutate: func(objs fleet.Objects) {
			condition(clusterv1.MachineReadyCondition, metav1.ConditionUnknown)(objs, false)
		}, want: RuleMachinesNotAtRest, objects: []ObjectRef{md}, steps: []int{4}, message: "1 not ready"},
		{name: "healthy and ready conditions are at rest", mutate: func(objs fleet.Objects) {
			condition(clusterv1.MachineReadyCondition, metav1.ConditionTrue)(objs, false)
			condition(clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionTrue)(objs, false)
		}},
		{name: "control plane paused", mutate: func(objs fleet.Objects) {
			kcpOf(objs).Annotations = map[string]string{clusterv1.PausedAnnotation: ""}
		}, want: RuleObjectPaused, objects: []ObjectRef{kcp}, steps: []int{1, 2, 3}, message: "KubeadmControlPlane ns/c-control-plane is paused"},
		{name: "MachineSet paused", mutate: func(objs fleet.Objects) {
			machineSet(objs).Annotations = map[string]string{clusterv1.PausedAnnotation: ""}
		}, want: RuleObjectPaused, objects: []ObjectRef{md}, steps: []int{4}, message: "MachineSet ns/c-md-0-7d9f8c6b5 is paused"},
		{name: "MachineSet skips preflight checks", mutate: func(objs fleet.Objects) {
			machineSet(objs).Annotations = map[string]string{clusterv1.MachineSetSkipPreflightChecksAnnotation: "KubeadmVersionSkew"}
		}, want: RulePreflightChecksSkipped, objects: []ObjectRef{md}, steps: []int{1, 2, 3, 4}, message: "MachineSet ns/c-md-0-7d9f8c6b5 (KubeadmVersionSkew) skips"},
		{name: "skipped preflight checks with the gate off", gates: "InPlaceUpdates=true,RuntimeSDK=true,MachineSetPreflightChecks=false", mutate: func(objs fleet.Objects) {
			machineSet(objs).Annotations = map[string]string{clusterv1.MachineSetSkipPreflightChecksAnnotation: "All"}
		}},
		{name: "MachineDeployment rolling out", extend: func(objs fleet.Objects) fleet.Objects {
			// The current MachineSet becomes the old one, with one of the two Machines left.
			old := machineSet(objs)
			current := old.DeepCopy()
			old.Spec.Template.Spec.InfrastructureRef.Name = "previous-template"
			old.Spec.Replicas, old.Status.Replicas = ptr.To[int32](1), ptr.To[int32](1)
			current.Name = "c-md-0-new"
			current.Spec.Replicas, current.Status.Replicas = ptr.To[int32](1), ptr.To[int32](1)
			return fleet.Objects{current}
		}, want: RuleMachineDeploymentRollingOut, objects: []ObjectRef{md}, steps: []int{4}, message: "old MachineSets hold 1 Machine"},
		{name: "MachineHealthCheck of the workers, healthy", extend: healthCheck(2, 2, nil)},
		{name: "MachineHealthCheck of another Cluster remediating", extend: func(objs fleet.Objects) fleet.Objects {
			out := healthCheck(2, 1, nil)(objs)
			out[0].(*clusterv1.MachineHealthCheck).Spec.ClusterName = "other"
			return out
		}},
		{name: "MachineHealthCheck of the workers remediating", extend: healthCheck(2, 1, nil),
			want: RuleMachineHealthCheckRemediating, objects: []ObjectRef{{Kind: "MachineHealthCheck", Namespace: "ns", Name: "c-workers"}, md}, steps: []int{4},
			message: "counts 1 of 2 Machines unhealthy: it is remediating them: their owners replace them around step 4"},
		{name: "MachineHealthCheck short-circuited", extend: healthCheck(2, 0, &metav1.Condition{Type: clusterv1.MachineHealthCheckRemediationAllowedCondition,
			Status: metav1.ConditionFalse, Reason: "TooManyUnhealthy", Message: "Remediation is not allowed, the number of not started or unhealthy machines exceeds maxUnhealthy"}),
			want: RuleMachineHealthCheckRemediating, objects: []ObjectRef{{Kind: "MachineHealthCheck", Namespace: "ns", Name: "c-workers"}, md}, steps: []int{4},
			message: "it has stopped remediating (RemediationAllowed is False: Remediation is not allowed"},
	}
	atRest := []RuleID{RuleMachinesNotAtRest, RuleMachineDeploymentRollingOut, RuleObjectPaused, RulePreflightChecksSkipped, RuleMachineHealthCheckRemediating}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := scenario{mutate: tt.mutate, extend: tt.extend, gates: tt.gates}.plan(t)
			var got []Finding
			for _, f := range p.Findings {
				if slices.Contains(atRest, f.Rule) {
					got = append(got, f)
				}
			}
			if tt.want == "" {
				if len(got) > 0 {
					t.Errorf("unexpected findings %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Rule != tt.want || !slices.Equal(got[0].Objects, tt.objects) || !slices.Equal(got[0].Steps, tt.steps) || !strings.Contains(got[0].Message, tt.message) {
				t.Errorf("got %+v\nwant %s on %v at steps %v, message ~%q", got, tt.want, tt.objects, tt.steps, tt.message)
			}
		})
	}
}

// healthCheck returns an extension adding a MachineHealthCheck of the
// Cluster's workers (Machines of c-md-0) with the status given.
func healthCheck(expected, healthy int32, condition *metav1.Condition) func(fleet.Objects) fleet.Objects {
	return func(fleet.Objects) fleet.Objects {
		mhc := &clusterv1.MachineHealthCheck{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-workers"}}
		mhc.SetGroupVersionKind(clusterv1.GroupVersion.WithKind("MachineHealthCheck"))
		mhc.Spec.ClusterName = "c"
		mhc.Spec.Selector = metav1.LabelSelector{MatchLabels: map[string]string{clusterv1.MachineDeploymentNameLabel: "c-md-0"}}
		mhc.Status.ExpectedMachines, mhc.Status.CurrentHealthy = ptr.To(expected), ptr.To(healthy)
		if condition != nil {
			mhc.Status.Conditions = []metav1.Condition{*condition}
		}
		return fleet.Objects{mhc}
	}
}
