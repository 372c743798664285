package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/capi-planner/capi-planner/catalog"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/state"
	"github.com/capi-planner/capi-planner/state/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCases plan every fixture with fixed inputs, so the output only changes
// when the planner or the renderers do.
var goldenCases = []struct {
	name, fixture, to string
}{
	{"topology-versions", "topology-versions", "v1.36.3"},
	{"topology-one-minor", "topology-one-minor", "v1.36"},
	{"topology-one-minor-per-write", "topology-one-minor", "v1.37"},
	{"topology-extension", "topology-extension", ""},
	{"unmanaged", "unmanaged", "v1.36"},
	{"machinepools", "machinepools", "v1.36.3"},
	{"workers-lagging", "workers-lagging", ""},
	{"defer-hold", "defer-hold", "v1.36.3"},
	{"fleet", "fleet", ""},
	{"nodes-proxy", "nodes-proxy", "latest"},
}

var goldenCatalog = catalog.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "test catalog",
	"v1.31.14", "v1.32.13", "v1.33.4", "v1.34.3", "v1.35.2", "v1.35.4", "v1.36.1", "v1.36.3", "v1.37.2")

func planFixture(t *testing.T, fixture, to string) *planner.UpgradePlan {
	t.Helper()
	p, _ := planFixtureState(t, fixture, to)
	return p
}

// planFixtureState plans a fixture and returns the state it read too.
func planFixtureState(t *testing.T, fixture, to string) (*planner.UpgradePlan, *state.State) {
	t.Helper()
	return planPaths(t, to, filepath.Join("..", "..", "fixtures", fixture))
}

// planPaths plans the snapshot files or directories given.
func planPaths(t *testing.T, to string, paths ...string) (*planner.UpgradePlan, *state.State) {
	t.Helper()
	st, err := snapshot.Read(t.Context(), paths, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	target, err := planner.ParseTarget(to)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.Plan(t.Context(), st, planner.Selection{To: target}, planner.Options{
		Now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), Catalog: goldenCatalog, PlannerVersion: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, st
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run make golden to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run make golden if the change is intended):\n%s", path, got)
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			p := planFixture(t, tc.fixture, tc.to)
			for _, f := range []Format{FormatTable, FormatJSON, FormatMarkdown} {
				var buf bytes.Buffer
				if err := Plan(&buf, p, Options{Format: f}); err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(buf.Bytes(), []byte("\x1b[")) {
					t.Errorf("%s output has ANSI colour without Color", f)
				}
				golden(t, tc.name+"."+string(f), buf.Bytes())
			}
		})
	}
}

func TestJSONMatchesSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	schema, err := c.Compile(filepath.Join("..", "..", "docs", "plan.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []Format{FormatJSON, FormatYAML} {
				var buf bytes.Buffer
				if err := Plan(&buf, planFixture(t, tc.fixture, tc.to), Options{Format: f}); err != nil {
					t.Fatal(err)
				}
				data := buf.Bytes()
				if f == FormatYAML {
					if data, err = yaml.YAMLToJSON(data); err != nil {
						t.Fatal(err)
					}
				}
				doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				if err := schema.Validate(doc); err != nil {
					t.Errorf("%s output does not match docs/plan.schema.json: %v", f, err)
				}
			}
		})
	}
	// The schema must reject what the format forbids, or it proves nothing.
	bad := map[string]any{"apiVersion": "capi-planner.io/v1alpha1", "kind": "UpgradePlan", "metadata": map[string]any{}, "clusters": []any{}}
	if err := schema.Validate(bad); err == nil {
		t.Error("the schema accepts a document without metadata.generatedAt")
	}
}

func TestColorAndSummary(t *testing.T) {
	p := planFixture(t, "fleet", "")
	var buf bytes.Buffer
	if err := Plan(&buf, p, Options{Format: FormatTable, Color: true}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, ansiRed+"Rejected"+ansiReset) || !strings.Contains(out, ansiGreen+"Planned"+ansiReset) {
		t.Errorf("statuses are not coloured:\n%s", out)
	}
	if got := strings.Count(out, "\n"); got != len(p.Clusters)+3 {
		t.Errorf("summary has %d lines for %d clusters:\n%s", got, len(p.Clusters), out)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatTable, "table": FormatTable, "JSON": FormatJSON, "yaml": FormatYAML, "markdown": FormatMarkdown, "md": FormatMarkdown} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "-o") {
		t.Errorf("ParseFormat(xml) = %v", err)
	}
}

func TestJSONIsStable(t *testing.T) {
	var buf bytes.Buffer
	if err := Plan(&buf, planFixture(t, "topology-versions", "v1.36.3"), Options{Format: FormatJSON}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["apiVersion"] != planner.APIVersion || doc["kind"] != planner.Kind {
		t.Errorf("header %v %v", doc["apiVersion"], doc["kind"])
	}
}
