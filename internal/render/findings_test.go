package render

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestManagementClusterVersionFixture: no fixture records the management
// cluster's Kubernetes version, so none reports it (it is not guessed). The
// topology-versions fixture (CAPI v1.14.2) with a ManagementCluster record of
// v1.32.9, a version CAPI v1.14 supports only for workload clusters, reports it
// once in every Cluster's plan, and with v1.36.3 reports nothing.
func TestManagementClusterVersionFixture(t *testing.T) {
	count := func(p *planner.UpgradePlan) (n int, msgs []string) {
		for _, c := range p.Clusters {
			for _, f := range c.Findings {
				if f.Rule == planner.RuleManagementVersionUnsupported {
					n++
					msgs = append(msgs, f.Message)
				}
			}
		}
		return n, msgs
	}
	for _, tc := range goldenCases {
		if n, _ := count(planFixture(t, tc.fixture, tc.to)); n != 0 {
			t.Errorf("%s: %d %s findings without a ManagementCluster record", tc.fixture, n, planner.RuleManagementVersionUnsupported)
		}
	}
	record := func(version string) string {
		p := filepath.Join(t.TempDir(), "management-cluster.yaml")
		doc := "apiVersion: capi-planner.io/v1alpha1\nkind: ManagementCluster\nmetadata:\n  name: management\nkubernetesVersion: " + version + "\n"
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fixture := filepath.Join("..", "..", "fixtures", "topology-versions")

	p, _ := planPaths(t, "v1.36.3", fixture, record("v1.32.9"))
	n, msgs := count(p)
	if n == 0 || n != len(p.Clusters) {
		t.Fatalf("%d findings for %d Clusters", n, len(p.Clusters))
	}
	want := "the management cluster runs Kubernetes v1.32.9; the installed core provider, CAPI v1.14.2, supports v1.32 only for workload clusters, not for the management cluster"
	if !strings.Contains(msgs[0], want) || !strings.Contains(msgs[0], "CAPI v1.14.2 supports v1.33, v1.34, v1.35, v1.36, v1.37 for the management cluster") {
		t.Errorf("message %q", msgs[0])
	}
	var table bytes.Buffer
	if err := Plan(&table, p, Options{Format: FormatTable}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "WARNING [ManagementClusterVersionUnsupported] "+want) {
		t.Errorf("the table does not show the finding:\n%s", table.String())
	}

	p, _ = planPaths(t, "v1.36.3", fixture, record("v1.36.3"))
	if n, msgs := count(p); n != 0 {
		t.Errorf("reported for a management cluster at v1.36.3, which CAPI v1.14.2 supports: %v", msgs)
	}
}
