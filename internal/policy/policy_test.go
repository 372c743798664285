package policy

import (
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/planner"
)

func TestReplace(t *testing.T) {
	change := func(name, topo string, created, inPlace, deleted int) planner.Change {
		return planner.Change{Object: planner.ObjectRef{Kind: "MachineDeployment", Namespace: "ns", Name: name}, TopologyName: topo,
			Prediction: &planner.Prediction{Rule: "R", Counts: planner.MachineCounts{Created: created, UpdatedInPlace: inPlace, Deleted: deleted}}}
	}
	p := &planner.UpgradePlan{Clusters: []planner.ClusterPlan{{
		Cluster: planner.ObjectRef{Kind: "Cluster", Namespace: "ns", Name: "c"},
		Steps: []planner.Step{
			{Number: 1, Changes: []planner.Change{change("c-md-0", "md-0", 0, 3, 0), change("c-md-1", "md-1", 1, 1, 1)}},
			{Number: 2, Changes: []planner.Change{change("c-md-2", "", 2, 0, 2), {Object: planner.ObjectRef{Name: "no-prediction"}}}},
		},
	}}}
	all, err := Parse("replace")
	if err != nil {
		t.Fatal(err)
	}
	v := all.Check(p)
	if len(v) != 2 || v[0].Step != 1 || v[0].Object.Name != "c-md-1" || v[1].Step != 2 || !strings.Contains(v[1].String(), "Cluster ns/c step 2: MachineDeployment ns/c-md-2 replaces Machines (2 created, 2 deleted) [R]") {
		t.Errorf("violations %v", v)
	}
	some, err := Parse("replace:md-0,c-md-2")
	if err != nil {
		t.Fatal(err)
	}
	if v := some.Check(p); len(v) != 1 || v[0].Object.Name != "c-md-2" {
		t.Errorf("restricted: %v", v)
	}
	gpu, err := Parse("replace-gpu")
	if err != nil {
		t.Fatal(err)
	}
	if v := gpu.Check(p); len(v) != 0 {
		t.Errorf("replace-gpu without accelerator findings: %v", v)
	}
	accel := planner.Finding{Rule: planner.RuleAcceleratorMachinesReplaced, Steps: []int{2}, Objects: []planner.ObjectRef{{Kind: "MachineDeployment", Namespace: "ns", Name: "c-md-2"}}}
	p.Clusters[0].Findings = []planner.Finding{accel}
	if v := gpu.Check(p); len(v) != 1 || v[0].Object.Name != "c-md-2" || v[0].Step != 2 {
		t.Errorf("replace-gpu: %v", v)
	}
	p.Clusters[0].Findings[0].Suppressed = &planner.Suppression{Reason: "accepted", Source: "--ignore"}
	if v := gpu.Check(p); len(v) != 0 {
		t.Errorf("replace-gpu with the finding suppressed: %v", v)
	}
	for _, bad := range []string{"rollout", "replace:", "replace: ,", "replace-gpu:md-0"} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "--fail-on") {
			t.Errorf("Parse(%q) = %v", bad, err)
		}
	}
}
