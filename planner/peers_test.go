package planner

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
)

// A group without a history of its own takes its peers': the controllers'
// time around each replaced Machine from peers of the same kind of group,
// in-place updates from any group of the namespace on the same
// infrastructure. Its own history, and peers on other infrastructure, win
// and are left out.
func TestWithPeers(t *testing.T) {
	initialized := t0.Add(30 * time.Second)
	// A control plane fresh from its creation: 11 s a Machine, Machines one
	// after the other without deletions (no cycle of its own).
	fresh := func() *pace {
		p := learnPace([][]*clusterv1.Machine{{ready(0, 30), ready(31, 42), ready(42, 53)}}, initialized, false)
		p.deletionWait = kcpDeletionRecheck
		return p
	}
	// A control plane after a rollout: 12 s to be ready, 17 s apart.
	rolledOut := learnPace([][]*clusterv1.Machine{{ready(100, 112), ready(116, 128), ready(133, 145)}}, initialized, false)
	// One new Machine and two updated in place, 22 s apart.
	inPlace := learnPace([][]*clusterv1.Machine{{ready(100, 112), updated(135), updated(157)}}, initialized, false)
	workersInPlace := learnPace([][]*clusterv1.Machine{{ready(100, 108)}, {updated(140), updated(170)}}, initialized, true)
	for _, tc := range []struct {
		name  string
		own   groupPace
		peers []groupPace
		n     MachineCounts
		// seconds, and a basis with each fragment.
		seconds int64
		basis   []string
	}{{
		name:    "no peers",
		own:     groupPace{cluster: "b", controlPlane: true, infrastructure: "DevMachine", pace: fresh()},
		n:       MachineCounts{Created: 3, Deleted: 3},
		seconds: 3*11 + 3*5,
		basis:   []string{"plus at least 5s for each of the 3 Machine(s) deleted"},
	}, {
		name:    "a peer's control plane rollout",
		own:     groupPace{cluster: "b", controlPlane: true, infrastructure: "DevMachine", pace: fresh()},
		peers:   []groupPace{{cluster: "a", controlPlane: true, infrastructure: "DevMachine", pace: rolledOut}},
		n:       MachineCounts{Created: 3, Deleted: 3},
		seconds: 3 * (11 + 5),
		basis:   []string{"plus about 5s each for the controllers' checks and deleting an old Machine", "the median over 1 other Cluster(s) of its namespace with DevMachine Machines"},
	}, {
		name:    "a peer's workers do not pace a control plane",
		own:     groupPace{cluster: "b", controlPlane: true, infrastructure: "DevMachine", pace: fresh()},
		peers:   []groupPace{{cluster: "a", infrastructure: "DevMachine", pace: rolledOut}},
		n:       MachineCounts{Created: 3, Deleted: 3},
		seconds: 3*11 + 3*5,
		basis:   []string{"plus at least 5s for each"},
	}, {
		name:    "a peer on other infrastructure",
		own:     groupPace{cluster: "b", controlPlane: true, infrastructure: "DevMachine", pace: fresh()},
		peers:   []groupPace{{cluster: "a", controlPlane: true, infrastructure: "AWSMachine", pace: rolledOut}, {cluster: "c", controlPlane: true, infrastructure: "AWSMachine", pace: inPlace}},
		n:       MachineCounts{Created: 1, UpdatedInPlace: 2, Deleted: 1},
		seconds: 3*11 + 5,
		basis:   []string{"(in-place updates assumed as long)"},
	}, {
		name:    "Machines of several kinds have no peers",
		own:     groupPace{cluster: "b", controlPlane: true, pace: fresh()},
		peers:   []groupPace{{cluster: "a", controlPlane: true, pace: rolledOut}},
		n:       MachineCounts{Created: 3, Deleted: 3},
		seconds: 3*11 + 3*5,
		basis:   []string{"plus at least 5s for each"},
	}, {
		name:    "its own rollout first",
		own:     groupPace{cluster: "b", controlPlane: true, infrastructure: "DevMachine", pace: rolledOut},
		peers:   []groupPace{{cluster: "a", controlPlane: true, infrastructure: "DevMachine", pace: learnPace([][]*clusterv1.Machine{{ready(100, 112), ready(130, 142)}}, initialized, false)}},
		n:       MachineCounts{Created: 3, Deleted: 3},
		seconds: 3 * 17,
		basis:   []string{"the median time between the creations of its Machines one after the other (2 samples)"},
	}, {
		name:    "a peer's in-place updates",
		own:     groupPace{cluster: "b", controlPlane: true, infrastructure: "DevMachine", pace: fresh()},
		peers:   []groupPace{{cluster: "a", controlPlane: true, infrastructure: "DevMachine", pace: inPlace}},
		n:       MachineCounts{Created: 1, UpdatedInPlace: 2, Deleted: 1},
		seconds: 11 + 2*22 + 5,
		basis:   []string{"in-place updates about 22s each: the median time between the ends of past in-place updates (1 samples) of 1 other Cluster(s) of its namespace with DevMachine Machines"},
	}, {
		name: "its own control plane's in-place updates pace its workers",
		own:  groupPace{cluster: "b", infrastructure: "DevMachine", pace: learnPace([][]*clusterv1.Machine{{ready(100, 108)}}, initialized, true)},
		peers: []groupPace{{cluster: "b", controlPlane: true, infrastructure: "DevMachine", pace: inPlace},
			{cluster: "a", infrastructure: "DevMachine", pace: workersInPlace}},
		n: MachineCounts{Created: 1, UpdatedInPlace: 1, Deleted: 1},
		// 22 s and 30 s: the upper median.
		seconds: 8 + 30,
		basis:   []string{"(2 samples) of this Cluster's other Machines and 1 other Cluster(s) of its namespace"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ns := poolPaces(append([]groupPace{tc.own}, tc.peers...))
			e := tc.own.withPeers(ns).estimate(tc.n, 1)
			if e == nil {
				t.Fatal("no estimate")
			}
			if e.Seconds != tc.seconds {
				t.Log(e.Basis)
				t.Fatalf("estimate %v, want %ds", e.Seconds, tc.seconds)
			}
			for _, b := range tc.basis {
				if !strings.Contains(e.Basis, b) {
					t.Errorf("basis %q\nwant it with %q", e.Basis, b)
				}
			}
		})
	}
}

// Through a plan: a Cluster learns from the rollout of another Cluster of
// its namespace on the same infrastructure, not from one of another
// namespace.
func TestPlanLearnsFromPeers(t *testing.T) {
	spec := func(ns, name string) fleet.ClusterSpec {
		return fleet.ClusterSpec{Namespace: ns, Name: name, ControlPlaneVersion: "v1.33.4", Replicas: 3}
	}
	// retime gives a Cluster's control plane Machines their creation and
	// Ready times (seconds after t0); the control plane was initialized at
	// t0+30.
	retime := func(objs fleet.Objects, times ...[2]int) fleet.Objects {
		i := 0
		for _, o := range objs {
			if c, ok := o.(*clusterv1.Cluster); ok {
				c.Status.Conditions = append(c.Status.Conditions, metav1.Condition{Type: clusterv1.ClusterControlPlaneInitializedCondition,
					Status: metav1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(30 * time.Second))})
			}
			m, ok := o.(*clusterv1.Machine)
			if !ok {
				continue
			}
			fresh := ready(times[i][0], times[i][1])
			m.CreationTimestamp, m.Status.Conditions = fresh.CreationTimestamp, fresh.Status.Conditions
			i++
		}
		return objs
	}
	created := [][2]int{{0, 30}, {31, 42}, {42, 53}}
	rolledOut := [][2]int{{100, 112}, {116, 128}, {133, 145}}
	controllers := fleet.Objects{
		fleet.Controller(fleet.ControllerSpec{Namespace: "capi-system", Name: "capi", Provider: "cluster-api", Image: "capi:v1.14.2"}),
		fleet.Controller(fleet.ControllerSpec{Namespace: "capi-kubeadm-control-plane-system", Name: "kcp", Provider: "control-plane-kubeadm", Image: "kcp:v1.14.2"}),
	}
	st := buildState(t, controllers,
		retime(fleet.Cluster(spec("ns", "fresh")), created...),
		retime(fleet.Cluster(spec("ns", "canary")), rolledOut...),
		retime(fleet.Cluster(spec("other", "fresh")), created...),
		retime(fleet.Cluster(spec("other", "canary")), rolledOut...),
	)
	// Another namespace's canary ran on other infrastructure.
	for _, m := range st.Machines {
		if m.Namespace == "other" && m.Spec.ClusterName == "canary" {
			m.Spec.InfrastructureRef.Kind = "AWSMachine"
		}
	}
	for ns, want := range map[string]string{
		"ns":    "plus about 5s each for the controllers' checks and deleting an old Machine",
		"other": "",
	} {
		p := planOne(t, st, ns, "fresh", "v1.34.3", nil)
		if len(p.Steps) == 0 {
			t.Fatalf("%s: no steps: %+v", ns, p.Rejections)
		}
		d := p.Steps[0].Changes[0].Prediction.Duration
		if d == nil {
			t.Fatalf("%s: no estimate: %s", ns, stepsJSON(p))
		}
		if learnt := strings.Contains(d.Basis, "other Cluster(s)"); want == "" && learnt || want != "" && !strings.Contains(d.Basis, want) {
			t.Errorf("%s: basis %q\nwant one with %q", ns, d.Basis, want)
		}
	}
}

func stepsJSON(p ClusterPlan) string { b, _ := json.Marshal(p.Steps); return string(b) }
