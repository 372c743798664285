package planner

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/capi-planner/capi-planner/catalog"
	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/state"
)

// testCatalog is a fixed release catalog, so tests do not depend on the embedded one.
var testCatalog = catalog.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "test",
	"v1.33.4", "v1.34.1", "v1.34.3", "v1.35.2", "v1.36.1", "v1.36.3", "v1.37.2")

var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func buildState(t testing.TB, objs ...fleet.Objects) *state.State {
	t.Helper()
	st := &state.State{}
	for _, group := range objs {
		for _, o := range group {
			if err := st.Add(o); err != nil {
				t.Fatal(err)
			}
		}
	}
	st.Sort()
	return st
}

func planOne(t testing.TB, st *state.State, ns, name, to string, versions []string) ClusterPlan {
	t.Helper()
	target, err := ParseTarget(to)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Plan(t.Context(), st, Selection{Cluster: &types.NamespacedName{Namespace: ns, Name: name}, To: target},
		Options{Now: testNow, Catalog: testCatalog, Versions: versions})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Clusters) != 1 {
		t.Fatalf("want 1 cluster plan, got %d", len(doc.Clusters))
	}
	return doc.Clusters[0]
}

// stepsString renders steps compactly: "CP v1.34.3 | W v1.36.3 md-0,md-1".
func stepsString(steps []Step) string {
	var parts []string
	for _, s := range steps {
		if s.Kind == StepControlPlane {
			parts = append(parts, "CP "+s.Version)
			continue
		}
		var names []string
		for _, c := range s.Changes {
			n := c.TopologyName
			if n == "" {
				n = c.Object.Name
			}
			if c.Wave > 1 {
				n += fmt.Sprintf("@%d", c.Wave)
			}
			names = append(names, n)
		}
		parts = append(parts, "W "+s.Version+" "+strings.Join(names, ","))
	}
	return strings.Join(parts, " | ")
}

func pluck[T, V any](items []T, field func(T) V) []V {
	var out []V
	for _, it := range items {
		out = append(out, field(it))
	}
	return out
}

func rejectionRules(p ClusterPlan) []RuleID {
	return pluck(p.Rejections, func(r Rejection) RuleID { return r.Rule })
}

func findingRules(p ClusterPlan) []RuleID {
	return pluck(p.Findings, func(f Finding) RuleID { return f.Rule })
}

// controlPlaneSteps are control plane steps to the versions, in order.
func controlPlaneSteps(versions ...string) []Step {
	var steps []Step
	for i, v := range versions {
		steps = append(steps, Step{Number: i + 1, Kind: StepControlPlane, Version: v})
	}
	return steps
}

// matchFindings checks rendered findings one by one against wants written as
// "PREFIX] fragment": each must start with PREFIX and contain the fragment.
func matchFindings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		prefix, frag, _ := strings.Cut(w, "] ")
		if !strings.HasPrefix(got[i], prefix+"]") || !strings.Contains(got[i], frag) {
			t.Errorf("finding %d:\n got  %s\n want %s", i, got[i], w)
		}
	}
}
