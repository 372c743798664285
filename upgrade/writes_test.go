package upgrade

import (
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/planner"
)

func TestCheckInvariants(t *testing.T) {
	cp := planner.ObjectRef{Kind: "KubeadmControlPlane", Namespace: "ns", Name: "cp"}
	md := planner.ObjectRef{Kind: "MachineDeployment", Namespace: "ns", Name: "md"}
	write := func(obj planner.ObjectRef, from, to string) Write {
		return Write{Step: 1, Patch: planner.Patch{Object: obj, Field: "spec.version", From: from, To: to}}
	}
	for _, tc := range []struct {
		name    string
		w       Write
		isCP    bool
		v       Versions
		wantErr string
	}{
		{"control plane one minor", write(cp, "v1.33.4", "v1.34.3"), true, Versions{Workers: map[planner.ObjectRef]string{md: "v1.33.4"}}, ""},
		{"control plane patch", write(cp, "v1.33.4", "v1.33.5"), true, Versions{}, ""},
		{"control plane skips a minor", write(cp, "v1.33.4", "v1.35.2"), true, Versions{}, "one minor at a time"},
		{"control plane downgrade", write(cp, "v1.34.3", "v1.33.4"), true, Versions{}, "downgrade"},
		{"control plane leaves a worker behind", write(cp, "v1.36.3", "v1.37.0"), true, Versions{Workers: map[planner.ObjectRef]string{md: "v1.33.4"}}, "skew policy"},
		{"worker up to the control plane", write(md, "v1.33.4", "v1.34.3"), false, Versions{ControlPlane: "v1.34.3"}, ""},
		{"worker ahead of the control plane", write(md, "v1.33.4", "v1.35.2"), false, Versions{ControlPlane: "v1.34.3"}, "ahead of the control plane"},
		{"worker before the control plane landed", write(md, "v1.33.4", "v1.34.3"), false, Versions{}, "not landed"},
		{"worker downgrade", write(md, "v1.34.3", "v1.33.4"), false, Versions{ControlPlane: "v1.34.3"}, "downgrade"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckInvariants(tc.w, tc.isCP, tc.v)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

func TestWrites(t *testing.T) {
	cluster := planner.ObjectRef{Kind: "Cluster", Namespace: "ns", Name: "c"}
	cp := planner.ObjectRef{Kind: "KubeadmControlPlane", Namespace: "ns", Name: "cp"}
	md := planner.ObjectRef{Kind: "MachineDeployment", Namespace: "ns", Name: "md"}
	mp := planner.ObjectRef{Kind: "MachinePool", Namespace: "ns", Name: "mp"}
	group := func(planner.ObjectRef) string { return "g" }
	topo := &planner.ClusterPlan{Mode: planner.ModeTopology, Trigger: &planner.Patch{Object: cluster, Field: "spec.topology.version", From: "v1.33.4", To: "v1.35.2"},
		Steps: []planner.Step{{Number: 1}, {Number: 2}, {Number: 3}}}
	if ws := Writes(topo, group); len(ws) != 1 || ws[0].Patch.To != "v1.35.2" || ws[0].Step != 1 {
		t.Fatalf("topology writes %+v, want the trigger alone at step 1", ws)
	}
	patch := func(obj planner.ObjectRef, field, from, to string) *planner.Patch {
		return &planner.Patch{Object: obj, Field: field, From: from, To: to}
	}
	// A ClusterClass that takes one minor per write: a write at the first step of each.
	stepwise := &planner.ClusterPlan{Mode: planner.ModeTopology, Steps: []planner.Step{
		{Number: 1, Changes: []planner.Change{{Object: cp, Patch: patch(cluster, "spec.topology.version", "v1.33.4", "v1.34.3")}}},
		{Number: 2, Changes: []planner.Change{{Object: md, Wave: 1}}},
		{Number: 3, Changes: []planner.Change{{Object: cp, Patch: patch(cluster, "spec.topology.version", "v1.34.3", "v1.35.2")}}},
		{Number: 4, Changes: []planner.Change{{Object: md, Wave: 1}}},
	}}
	var stepwiseIDs []string
	for _, w := range Writes(stepwise, group) {
		stepwiseIDs = append(stepwiseIDs, w.ID())
	}
	if got, want := strings.Join(stepwiseIDs, " "), "1/Cluster/c/v1.34.3 3/Cluster/c/v1.35.2"; got != want {
		t.Fatalf("stepwise topology writes %s, want %s", got, want)
	}
	unmanaged := &planner.ClusterPlan{Mode: planner.ModeUnmanaged, Steps: []planner.Step{
		{Number: 1, Changes: []planner.Change{{Object: cp, Patch: patch(cp, "spec.version", "v1.33.4", "v1.34.3")}}},
		{Number: 2, Changes: []planner.Change{{Object: md, Wave: 1, Patch: patch(md, "spec.template.spec.version", "v1.33.4", "v1.34.3")},
			{Object: mp, Wave: 1, Patch: patch(mp, "spec.template.spec.version", "v1.33.4", "v1.34.3")}}},
	}}
	ws := Writes(unmanaged, group)
	var ids []string
	for _, w := range ws {
		ids = append(ids, w.ID())
	}
	if got, want := strings.Join(ids, " "), "1/KubeadmControlPlane/cp/v1.34.3 2/MachineDeployment/md/v1.34.3 2/MachinePool/mp/v1.34.3"; got != want {
		t.Fatalf("writes %s, want %s", got, want)
	}
}
