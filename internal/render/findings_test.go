package render

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/capi-planner/capi-planner/planner"
)

// TestFindingsDoc: docs/findings.md is what the catalogue generates (make golden rewrites it).
func TestFindingsDoc(t *testing.T) {
	var b bytes.Buffer
	if err := Catalogue(&b, planner.Rules()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "findings.md")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("%s is out of date with planner/catalogue.go: run make golden", path)
	}
	for _, r := range planner.Rules() {
		if !bytes.Contains(want, []byte("| `"+string(r.ID)+"` |")) {
			t.Errorf("%s does not list %s", path, r.ID)
		}
	}
}

// TestFixtureRulesCatalogued: every rule in every fixture's plan is catalogued,
// under the kind where it appears.
func TestFixtureRulesCatalogued(t *testing.T) {
	check := func(id planner.RuleID, kind planner.RuleKind) {
		t.Helper()
		r, ok := planner.LookupRule(id)
		switch {
		case !ok:
			t.Errorf("rule %q is not in the catalogue", id)
		case !slices.Contains(r.Kinds, kind):
			t.Errorf("rule %s appears as a %s; the catalogue says %v", id, kind, r.Kinds)
		}
	}
	for _, tc := range goldenCases {
		p := planFixture(t, tc.fixture, tc.to)
		for _, c := range p.Clusters {
			for _, r := range c.Rejections {
				check(r.Rule, planner.KindRejection)
			}
			for _, f := range c.Findings {
				check(f.Rule, planner.KindFinding)
				if r, _ := planner.LookupRule(f.Rule); f.Severity != r.Severity {
					t.Errorf("%s: severity %s, the catalogue says %s", f.Rule, f.Severity, r.Severity)
				}
			}
			for _, s := range c.Steps {
				for _, b := range s.Blockers {
					check(b.Rule, planner.KindBlocker)
				}
				for _, ch := range s.Changes {
					if ch.Prediction != nil {
						check(ch.Prediction.Rule, planner.KindPrediction)
					}
				}
			}
		}
	}
}

// TestNodesProxyExposureFixture: the nodes-proxy fixture reports its one exposed
// ServiceAccount, and no other fixture (none holds RBAC objects) reports any.
func TestNodesProxyExposureFixture(t *testing.T) {
	for _, tc := range goldenCases {
		var got []string
		for _, c := range planFixture(t, tc.fixture, tc.to).Clusters {
			for _, f := range c.Findings {
				if f.Rule == planner.RuleNodesProxyExposure {
					got = append(got, f.Objects[0].String())
				}
			}
		}
		want := []string(nil)
		if tc.fixture == "nodes-proxy" {
			want = []string{"ServiceAccount monitoring/prometheus"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: NodesProxyExposure for %v, want %v", tc.fixture, got, want)
		}
	}
}
