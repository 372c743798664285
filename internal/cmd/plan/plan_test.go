package plan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/capi-planner/capi-planner/catalog"
	"github.com/capi-planner/capi-planner/internal/cmd/input"
	"github.com/capi-planner/capi-planner/internal/iostreams"
	"github.com/capi-planner/capi-planner/internal/policy"
	"github.com/capi-planner/capi-planner/internal/render"
	"github.com/capi-planner/capi-planner/internal/suppress"
	"github.com/capi-planner/capi-planner/planner"
)

func testOptions(files ...string) (opts *Options, in, out, errOut *bytes.Buffer) {
	ios, in, out, errOut := iostreams.Test()
	return &Options{
		IO:      ios,
		Logger:  slog.New(slog.NewTextHandler(ios.ErrOut, nil)),
		Now:     func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) },
		Input:   input.Options{Filenames: files},
		Format:  render.FormatTable,
		Catalog: catalog.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "test", "v1.35.4", "v1.36.3"),
	}, in, out, errOut
}

func TestRunReadsStdin(t *testing.T) {
	data, err := os.ReadFile("../../../fixtures/topology-one-minor/snapshot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts, in, out, errOut := testOptions("-")
	in.Write(data)
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Cluster staging/api") || !strings.Contains(out.String(), "v1.35.4 -> v1.36.3") {
		t.Errorf("stdout:\n%s", out)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr: %s", errOut)
	}
}

// A fleet with rejected Clusters prints its summary on stdout, each rejection
// on stderr, and fails with exit code 1.
func TestRunRejectionsGoToStderr(t *testing.T) {
	opts, _, out, errOut := testOptions("../../../fixtures/fleet")
	err := Run(context.Background(), opts)
	var rejected *RejectedError
	if !errors.As(err, &rejected) || rejected.Clusters != 2 {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(out.String(), "6 clusters") {
		t.Errorf("stdout:\n%s", out)
	}
	if strings.Count(errOut.String(), "error: [") != 2 || !strings.Contains(errOut.String(), "[ClusterPaused]") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestRunRejectedJSONStillWritesTheDocument(t *testing.T) {
	opts, _, out, _ := testOptions("../../../fixtures/fleet")
	opts.Format = render.FormatJSON
	opts.Input.Namespace = "team-c"
	opts.Selection.To, _ = planner.ParseTarget("v1.36.3")
	if err := Run(context.Background(), opts); err == nil {
		t.Error("a rejected Cluster fails the run")
	}
	if !strings.Contains(out.String(), `"status": "Rejected"`) || !strings.Contains(out.String(), `"status": "Blocked"`) {
		t.Errorf("stdout:\n%s", out)
	}
}

// --detailed-exitcode: 0 when every Cluster is at the target, 2 when an upgrade
// is planned, 1 on errors, 3 on a --fail-on violation; without it, 0 when planned.
func TestRunDetailedExitCode(t *testing.T) {
	replace, _ := policy.Parse("replace")
	tests := []struct {
		name     string
		fixture  string
		to       string
		detailed bool
		failOn   *policy.Replace
		// want is the error Run returns, which internal/cmd/exit.go maps to the
		// exit code: *ChangesError 2, *RejectedError 1, *PolicyError 3, nil 0.
		want string
	}{
		{"planned", "topology-one-minor", "v1.36.3", true, nil, "*plan.ChangesError"},
		{"planned, without the flag", "topology-one-minor", "v1.36.3", false, nil, "<nil>"},
		{"at the target", "topology-one-minor", "v1.35.4", true, nil, "<nil>"},
		{"rejected", "fleet", "", true, nil, "*plan.RejectedError"},
		{"policy", "topology-versions", "v1.36.3", true, replace, "*plan.PolicyError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, _, _, errOut := testOptions("../../../fixtures/" + tt.fixture)
			opts.Catalog = catalog.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "test", "v1.33.4", "v1.34.3", "v1.35.2", "v1.35.4", "v1.36.3")
			opts.Selection.To, _ = planner.ParseTarget(tt.to)
			opts.DetailedExitCode, opts.FailOn = tt.detailed, tt.failOn
			err := Run(context.Background(), opts)
			if got := fmt.Sprintf("%T", err); got != tt.want {
				t.Errorf("Run returned %s (%v), want %s\n%s", got, err, tt.want, errOut)
			}
		})
	}
}

// Suppressed findings leave the table, stay in JSON with the reason, and an
// entry that matches nothing is warned about.
func TestRunIgnore(t *testing.T) {
	entry, err := suppress.ParseFlag("WorkersCannotScale:prod/web-md-0")
	if err != nil {
		t.Fatal(err)
	}
	stale, _ := suppress.ParseFlag("KindNotRead")
	opts, _, out, errOut := testOptions("../../../fixtures/topology-versions")
	opts.Selection.To, _ = planner.ParseTarget("v1.36.3")
	opts.Ignore = []suppress.Entry{entry, stale}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "[WorkersCannotScale]") || !strings.Contains(out.String(), "1 suppressed (WorkersCannotScale)") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.Contains(errOut.String(), "matched no finding") || !strings.Contains(errOut.String(), "KindNotRead (--ignore)") {
		t.Errorf("stderr:\n%s", errOut)
	}
	opts, _, out, _ = testOptions("../../../fixtures/topology-versions")
	opts.Selection.To, _ = planner.ParseTarget("v1.36.3")
	opts.Format = render.FormatJSON
	opts.Ignore = []suppress.Entry{entry}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"rule": "WorkersCannotScale"`) || !strings.Contains(out.String(), `"suppressed": {`) || !strings.Contains(out.String(), `"source": "--ignore"`) {
		t.Errorf("json:\n%s", out)
	}
}
