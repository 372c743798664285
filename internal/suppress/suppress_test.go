package suppress

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/planner"
)

func TestParseFlag(t *testing.T) {
	tests := []struct {
		in, wantErr string
		want        Entry
	}{
		{in: "WorkersCannotScale", want: Entry{Rule: planner.RuleWorkersCannotScale}},
		{in: "WorkersCannotScale:prod/web-md-0", want: Entry{Rule: planner.RuleWorkersCannotScale, Object: "prod/web-md-0"}},
		{in: "NoSuchRule", wantErr: "unknown rule NoSuchRule"},
		{in: "Downgrade", wantErr: "Downgrade is not a finding (it is a rejection)"},
		{in: "InPlaceUpdate", wantErr: "is not a finding (it is a prediction)"},
		{in: "WorkersCannotScale:web-md-0", wantErr: "expected NAMESPACE/NAME"},
		{in: "WorkersCannotScale:prod/", wantErr: "expected NAMESPACE/NAME"},
		{in: "", wantErr: "no rule"},
	}
	for _, tt := range tests {
		got, err := ParseFlag(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Rule != tt.want.Rule || got.Object != tt.want.Object || got.source != FlagSource || got.Reason == "" {
			t.Errorf("%q: %+v %v", tt.in, got, err)
		}
	}
}

func TestReadFile(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
		want                   int
	}{
		{"valid", "ignore:\n- rule: WorkersCannotScale\n  object: prod/web-md-0\n  reason: autoscaler is off during upgrades\n- rule: NamespaceUnknown\n  reason: snapshots hold no Namespaces\n", "", 2},
		{"empty file", "", "", 0},
		{"no reason", "ignore:\n- rule: WorkersCannotScale\n", "give a reason", 0},
		{"blank reason", "ignore:\n- rule: WorkersCannotScale\n  reason: '  '\n", "give a reason", 0},
		{"unknown field", "ignore:\n- rule: WorkersCannotScale\n  reason: ok\n  until: 2027-01-01\n", "unknown field", 0},
		{"unknown top-level field", "ignores:\n- rule: WorkersCannotScale\n", "unknown field", 0},
		{"unknown rule", "ignore:\n- rule: Nope\n  reason: x\n", "entry 1: unknown rule Nope", 0},
		{"a rejection", "ignore:\n- rule: ClusterPaused\n  reason: x\n", "cannot be suppressed", 0},
		{"not a list", "ignore: WorkersCannotScale\n", "cannot unmarshal", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ignore.yaml")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("%+v %v", got, err)
			}
			for _, e := range got {
				if e.source != path {
					t.Errorf("source %q", e.source)
				}
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file is not an error")
	}
}

func TestApply(t *testing.T) {
	md := planner.ObjectRef{Kind: "MachineDeployment", Namespace: "prod", Name: "web-md-0"}
	plan := func() *planner.UpgradePlan {
		return &planner.UpgradePlan{Clusters: []planner.ClusterPlan{
			{Cluster: planner.ObjectRef{Kind: "Cluster", Namespace: "prod", Name: "web"}, Findings: []planner.Finding{
				{Rule: planner.RuleWorkersCannotScale, Objects: []planner.ObjectRef{md}},
				{Rule: planner.RuleCAPIv112RuntimeSDKOff},
			}},
			{Cluster: planner.ObjectRef{Kind: "Cluster", Namespace: "dev", Name: "api"}, Findings: []planner.Finding{
				{Rule: planner.RuleCAPIv112RuntimeSDKOff},
			}},
		}}
	}
	entry := func(rule planner.RuleID, object, reason string) Entry {
		return Entry{Rule: rule, Object: object, Reason: reason, source: "ignore.yaml"}
	}
	tests := []struct {
		name       string
		entries    []Entry
		suppressed []string // cluster/rule: reason
		unused     int
	}{
		{"rule everywhere", []Entry{entry(planner.RuleCAPIv112RuntimeSDKOff, "", "on v1.14")},
			[]string{"web/CAPIv112RuntimeSDKOff: on v1.14", "api/CAPIv112RuntimeSDKOff: on v1.14"}, 0},
		{"by Cluster", []Entry{entry(planner.RuleCAPIv112RuntimeSDKOff, "dev/api", "dev")},
			[]string{"api/CAPIv112RuntimeSDKOff: dev"}, 0},
		{"by object named in the finding", []Entry{entry(planner.RuleWorkersCannotScale, "prod/web-md-0", "no autoscaler")},
			[]string{"web/WorkersCannotScale: no autoscaler"}, 0},
		{"first entry gives the reason", []Entry{entry(planner.RuleWorkersCannotScale, "prod/web", "first"), entry(planner.RuleWorkersCannotScale, "", "second")},
			[]string{"web/WorkersCannotScale: first"}, 0},
		{"no match", []Entry{entry(planner.RuleWorkersCannotScale, "prod/other", "x"), entry(planner.RuleKindNotRead, "", "x")}, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan()
			unused := Apply(p, tt.entries)
			var got []string
			for _, c := range p.Clusters {
				for _, f := range c.Findings {
					if f.Suppressed != nil {
						got = append(got, c.Cluster.Name+"/"+string(f.Rule)+": "+f.Suppressed.Reason)
						if f.Suppressed.Source != "ignore.yaml" {
							t.Errorf("source %q", f.Suppressed.Source)
						}
					}
				}
			}
			if strings.Join(got, "; ") != strings.Join(tt.suppressed, "; ") || len(unused) != tt.unused {
				t.Errorf("suppressed %v, want %v; unused %v", got, tt.suppressed, unused)
			}
		})
	}
}
