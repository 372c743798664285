package plan

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/capi-planner/capi-planner/internal/catalog"
	"github.com/capi-planner/capi-planner/internal/cmd/input"
	"github.com/capi-planner/capi-planner/internal/iostreams"
	"github.com/capi-planner/capi-planner/internal/render"
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
