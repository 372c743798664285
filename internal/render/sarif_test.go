package render

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/capi-planner/capi-planner/planner"
)

// sarifSchema is the SARIF 2.1.0 JSON Schema (OASIS, errata 01), as
// github.com/owenrumney/go-sarif/v3 v3.3.1 embeds it.
const sarifSchema = "testdata/sarif-schema-2.1.0.json"

type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Rules []struct{ ID string }
			}
		}
		Results []struct {
			RuleID    string
			Level     string
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct{ URI string }
					Region           struct{ StartLine int }
				}
				LogicalLocations []struct{ FullyQualifiedName string }
			}
			Suppressions []struct{ Kind, Justification string }
		}
	}
}

// Every fixture's findings and rejections as SARIF: valid SARIF 2.1.0, each
// result on the snapshot file and line of the object it is about.
func TestSARIF(t *testing.T) {
	schema, err := jsonschema.NewCompiler().Compile(sarifSchema)
	if err != nil {
		t.Fatal(err)
	}
	results := 0
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			p, st := planFixtureState(t, tc.fixture, tc.to)
			if len(p.Clusters[0].Findings) > 0 {
				p.Clusters[0].Findings[0].Suppressed = &planner.Suppression{Reason: "accepted", Source: "--ignore"}
			}
			var buf bytes.Buffer
			err := Plan(&buf, p, Options{Format: FormatSARIF, Locate: func(ref planner.ObjectRef) (string, int, bool) {
				src, ok := st.SourceOf(ref.Kind, ref.Namespace, ref.Name)
				return src.File, src.Line, ok
			}})
			if err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(doc); err != nil {
				t.Fatalf("not valid SARIF 2.1.0: %v", err)
			}
			var log sarifLog
			if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
				t.Fatal(err)
			}
			run := log.Runs[0]
			want := 0
			for _, c := range p.Clusters {
				want += len(c.Findings) + len(c.Rejections)
			}
			if len(run.Results) != want {
				t.Errorf("%d results, want %d", len(run.Results), want)
			}
			for i, r := range run.Results {
				results++
				if _, ok := planner.LookupRule(planner.RuleID(r.RuleID)); !ok || r.Level == "" {
					t.Errorf("result %d: rule %q level %q", i, r.RuleID, r.Level)
				}
				loc := r.Locations[0]
				if loc.PhysicalLocation == nil {
					t.Errorf("result %d (%s) has no file", i, r.RuleID)
					continue
				}
				// The line is the apiVersion or kind line of the object the result names first.
				uri, line := loc.PhysicalLocation.ArtifactLocation.URI, loc.PhysicalLocation.Region.StartLine
				data, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(strings.TrimPrefix(uri, "../../"))))
				if err != nil {
					t.Fatalf("result %d: %v", i, err)
				}
				lines := strings.Split(string(data), "\n")
				if line < 1 || line > len(lines) || !(strings.HasPrefix(lines[line-1], "apiVersion:") || strings.HasPrefix(lines[line-1], "kind:")) {
					t.Errorf("result %d (%s): %s:%d is not the start of an object", i, r.RuleID, uri, line)
				}
			}
			if len(run.Results) > 0 && len(p.Clusters[0].Findings) > 0 {
				if s := run.Results[len(p.Clusters[0].Rejections)].Suppressions; len(s) != 1 || s[0].Kind != "external" || !strings.Contains(s[0].Justification, "accepted") {
					t.Errorf("suppressed finding: %+v", s)
				}
			}
		})
	}
	if results == 0 {
		t.Fatal("no fixture gave a result: the test checks nothing")
	}
	// The schema rejects what SARIF forbids, or it proves nothing.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "level": "fatal"}]}]}`))
	if schema.Validate(bad) == nil {
		t.Error("the SARIF schema accepts an invalid level")
	}
}

// Live plans have no file: results name their objects as logical locations.
func TestSARIFLive(t *testing.T) {
	p := planFixture(t, "workers-lagging", "")
	var buf bytes.Buffer
	if err := Plan(&buf, p, Options{Format: FormatSARIF}); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs[0].Results) == 0 {
		t.Fatal("no results")
	}
	for _, r := range log.Runs[0].Results {
		if loc := r.Locations[0]; loc.PhysicalLocation != nil || len(loc.LogicalLocations) == 0 || !strings.HasPrefix(loc.LogicalLocations[len(loc.LogicalLocations)-1].FullyQualifiedName, "Cluster ") {
			t.Errorf("%s: %+v", r.RuleID, loc)
		}
	}
}
