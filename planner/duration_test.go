package planner

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// machineAt is a Machine created at t0+created (seconds) whose conditions
// turned as given (seconds after t0), the way CAPI v1.14 writes them.
func machineAt(created int, conditions map[string]int) *clusterv1.Machine {
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(created) * time.Second))}}
	// A Machine's first reconcile sets Updating to False.
	m.Status.Conditions = append(m.Status.Conditions, metav1.Condition{Type: clusterv1.MachineUpdatingCondition, Status: metav1.ConditionFalse,
		LastTransitionTime: metav1.NewTime(t0.Add(time.Duration(created+1) * time.Second))})
	for c, at := range conditions {
		cond := metav1.Condition{Type: c, Status: metav1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(time.Duration(at) * time.Second))}
		if c == clusterv1.MachineUpdatingCondition {
			m.Status.Conditions[0] = metav1.Condition{Type: c, Status: metav1.ConditionFalse, LastTransitionTime: cond.LastTransitionTime}
			continue
		}
		m.Status.Conditions = append(m.Status.Conditions, cond)
	}
	return m
}

func at(version string, m *clusterv1.Machine) *clusterv1.Machine {
	m.Spec.Version = version
	return m
}

func ready(created, at int) *clusterv1.Machine {
	return machineAt(created, map[string]int{clusterv1.MachineReadyCondition: at, clusterv1.MachineNodeReadyCondition: at - 3,
		clusterv1.MachineInfrastructureReadyCondition: at - 3})
}

// updated is a Machine created long ago and updated in place, its update
// ending at t0+end and Ready turning True again soon after.
func updated(end int) *clusterv1.Machine {
	return machineAt(-3600, map[string]int{clusterv1.MachineReadyCondition: end + 5, clusterv1.MachineUpdatingCondition: end,
		clusterv1.MachineInfrastructureReadyCondition: -3590})
}

func TestLearnPace(t *testing.T) {
	initialized := t0.Add(30 * time.Second)
	for _, tc := range []struct {
		name                  string
		owners                [][]*clusterv1.Machine
		joins                 bool
		created, inPlace, par int
		// deleted Machines, of a control plane (KCP waits for them).
		deleted      int
		controlPlane bool
		seconds      int64
		basis        string
	}{{
		// A new control plane: the first Machine waited for the cluster to
		// initialize; the others were created one after the other.
		name:    "new control plane",
		owners:  [][]*clusterv1.Machine{{ready(0, 36), ready(37, 48), ready(48, 58)}},
		created: 3, par: 1, seconds: 3 * 11,
		basis: "the median from creation to Ready over 2 of the Cluster's Machines (in-place updates assumed as long)",
	}, {
		// The same control plane replaced: KCP waits at least 5 s for each
		// deleted Machine before it creates the next.
		name:    "a control plane's first rollout",
		owners:  [][]*clusterv1.Machine{{ready(0, 36), ready(37, 48), ready(48, 58)}},
		created: 3, deleted: 3, controlPlane: true, par: 1, seconds: 3*11 + 3*5,
		basis: "plus at least 5s for each of the 3 Machine(s) deleted, as KCP checks again only 5s after it deletes one",
	}, {
		// Workers: a MachineDeployment waits for its deleted Machines too,
		// but no code says how long at least: the estimate says it leaves
		// them out.
		name:    "a MachineDeployment's deletions",
		owners:  [][]*clusterv1.Machine{{ready(0, 36), ready(37, 48), ready(48, 58)}},
		created: 3, deleted: 3, par: 1, seconds: 3 * 11,
		basis: "(in-place updates assumed as long); not counted: deleting the 3 old Machine(s), each of which holds the rollout until it is gone",
	}, {
		// A past rollout's cycle holds the deletions already.
		name:    "a control plane after a rollout",
		owners:  [][]*clusterv1.Machine{{ready(100, 112), ready(116, 128), ready(133, 145)}},
		created: 3, deleted: 3, controlPlane: true, par: 1, seconds: 3 * 17,
		basis: "the median time between the creations of its Machines one after the other (2 samples)",
	}, {
		// After a rollout the creations are a Machine's readiness plus the
		// deletion of an old one apart.
		name:    "after a rollout",
		owners:  [][]*clusterv1.Machine{{ready(100, 112), ready(116, 128), ready(133, 145)}},
		created: 3, par: 1, seconds: 3 * 17,
		basis: "the median time between the creations of its Machines one after the other (2 samples)",
	}, {
		// After an in-place step: one new Machine, two updated one after the other.
		name:    "after in-place updates",
		owners:  [][]*clusterv1.Machine{{ready(100, 112), updated(135), updated(157)}},
		created: 1, inPlace: 2, par: 1, seconds: 12 + 2*22,
		basis: "in-place updates about 22s each: the median time between the ends of its past in-place updates (1 samples)",
	}, {
		// Workers created while the control plane initialized waited for it:
		// without others, they are all there is.
		name:    "workers created with the cluster",
		owners:  [][]*clusterv1.Machine{{ready(10, 50), ready(10, 50)}, {ready(10, 52)}},
		created: 2, par: 1, seconds: 2 * 40,
		basis: "over 3 of the Cluster's Machines",
	}, {
		name:    "workers created later are the better evidence",
		owners:  [][]*clusterv1.Machine{{ready(10, 50), ready(10, 50)}, {ready(600, 608)}},
		created: 4, par: 2, seconds: 2 * 8,
		basis: "over 1 of the Cluster's Machines",
	}, {
		// A Machine of the Cluster's creation and the first of an upgrade that
		// started soon after are not one rollout: their versions differ.
		name:    "creation then upgrade",
		owners:  [][]*clusterv1.Machine{{at("v1.33.4", ready(37, 48)), at("v1.34.3", ready(70, 82))}},
		created: 1, par: 1, seconds: 12,
		basis: "from creation to Ready over 2",
	}, {
		// A first reconcile that came late is not an in-place update: it was
		// before the infrastructure was ready.
		name: "late first reconcile",
		owners: [][]*clusterv1.Machine{{machineAt(100, map[string]int{clusterv1.MachineUpdatingCondition: 106,
			clusterv1.MachineInfrastructureReadyCondition: 109, clusterv1.MachineReadyCondition: 112})}},
		created: 1, par: 1, seconds: 12,
		basis: "from creation to Ready over 1",
	}, {
		// Creations a week apart are not one rollout.
		name:    "unrelated creations",
		owners:  [][]*clusterv1.Machine{{ready(100, 112), ready(100+7*86400, 112+7*86400)}},
		created: 1, par: 1, seconds: 12,
		basis: "from creation to Ready over 2",
	}, {
		name:    "Machines without a Ready condition",
		owners:  [][]*clusterv1.Machine{{machineAt(100, map[string]int{clusterv1.MachineNodeReadyCondition: 120})}},
		created: 1, par: 1, seconds: 20,
		basis: "from creation to NodeReady over 1",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := learnPace(tc.owners, initialized, tc.joins)
			if tc.controlPlane {
				p.deletionWait = kcpDeletionRecheck
			}
			e := p.estimate(MachineCounts{Created: tc.created, UpdatedInPlace: tc.inPlace, Deleted: tc.deleted}, tc.par)
			if e == nil || e.Seconds != tc.seconds || !strings.Contains(e.Basis, tc.basis) || tc.deleted > 0 && !tc.controlPlane && strings.Contains(e.Basis, "Machine(s) deleted") {
				t.Errorf("estimate %d s: %s\nwant %ds and a basis with %q", e.Seconds, e.Basis, tc.seconds, tc.basis)
			}
		})
	}
	if p := learnPace([][]*clusterv1.Machine{{machineAt(0, nil)}}, initialized, true); p != nil || p.estimate(MachineCounts{Created: 1}, 1) != nil {
		t.Errorf("without a ready Machine: %+v", p)
	}
}

// Workers all created with the Cluster waited for the control plane: their
// readiness from its initialization is too short, and the control plane's
// joiners tell how long a join takes. A past rollout of the workers, or
// workers created later, come first.
func TestJoinersPace(t *testing.T) {
	initialized := t0.Add(30 * time.Second)
	// The first control plane Machine initialized it; the two that joined
	// took 11 s each.
	cp := learnPace([][]*clusterv1.Machine{{ready(0, 30), ready(31, 42), ready(43, 54)}}, initialized, false)
	for _, tc := range []struct {
		name    string
		workers [][]*clusterv1.Machine
		seconds int64
		basis   string
	}{{
		name:    "workers created with the cluster",
		workers: [][]*clusterv1.Machine{{ready(5, 35), ready(5, 35)}},
		seconds: 2 * 11,
		basis:   "over 2 of the control plane's Machines that joined it after its initialization",
	}, {
		name:    "workers created later",
		workers: [][]*clusterv1.Machine{{ready(5, 35), ready(600, 608)}},
		seconds: 2 * 8,
		basis:   "the median from creation to Ready over 1 of the Cluster's Machines",
	}, {
		name:    "after a rollout of the workers",
		workers: [][]*clusterv1.Machine{{ready(5, 35), ready(5, 35)}, {ready(100, 112), ready(116, 128), ready(133, 145)}},
		seconds: 2 * 17,
		basis:   "the median time between the creations of its Machines one after the other",
	}, {
		name:    "workers slower than the joiners",
		workers: [][]*clusterv1.Machine{{ready(5, 50), ready(5, 50)}},
		seconds: 2 * 20,
		basis:   "the median from creation (for those created earlier, the control plane's initialization) to Ready over 2",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := joinersPace(learnPace(tc.workers, initialized, true), cp)
			e := p.estimate(MachineCounts{Created: 2, Deleted: 2}, 1)
			if e == nil || e.Seconds != tc.seconds || !strings.Contains(e.Basis, tc.basis) {
				t.Errorf("estimate %+v\nwant %ds and a basis with %q", e, tc.seconds, tc.basis)
			}
		})
	}
	if p := joinersPace(nil, cp); p != nil {
		t.Errorf("workers without a ready Machine took the control plane's pace: %+v", p)
	}
	workers := learnPace([][]*clusterv1.Machine{{ready(5, 35)}}, initialized, true)
	if p := joinersPace(workers, nil); p != workers {
		t.Errorf("without a control plane pace: %+v", p)
	}
}
