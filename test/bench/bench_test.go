// Package bench measures planning against floors measured in the same run, so
// the figures are ratios that do not depend on the machine.
package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/capi-planner/capi-planner/internal/catalog"
	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/internal/state/snapshot"
	"github.com/capi-planner/capi-planner/planner"
)

// writeFleet writes clusters topology Clusters (each with a control plane of 3
// and 2 MachineDeployments of 5) and returns the file and its Machine count.
func writeFleet(b *testing.B, clusters int) (string, int) {
	b.Helper()
	versions := []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3"}
	var buf bytes.Buffer
	machines := 0
	add := func(objs fleet.Objects) {
		for _, o := range objs {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
			if err != nil {
				b.Fatal(err)
			}
			data, err := yaml.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			if m["kind"] == "Machine" {
				machines++
			}
			buf.WriteString("---\n")
			buf.Write(data)
		}
	}
	for i := range clusters {
		ns := fmt.Sprintf("team-%d", i%20)
		class := fmt.Sprintf("class-%d", i)
		add(fleet.ClusterClass(fleet.ClassSpec{Namespace: ns, Name: class, Versions: versions}))
		add(fleet.Cluster(fleet.ClusterSpec{Namespace: ns, Name: fmt.Sprintf("c-%d", i), Class: class, ControlPlaneVersion: "v1.33.4", Replicas: 3,
			Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 5}, {Name: "md-1", Version: "v1.33.4", Replicas: 5}}}))
	}
	path := filepath.Join(b.TempDir(), "fleet.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, machines
}

// decodeOnly is the floor: split the same file into documents and decode each
// into generic maps, which any reader must do at least.
func decodeOnly(b *testing.B, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			b.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(j, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOfflinePlanAll plans every Cluster of a snapshot and reports the time
// against the decode-only floor of the same file (x-floor).
func BenchmarkOfflinePlanAll(b *testing.B) {
	path, machines := writeFleet(b, 100)
	cat := catalog.New(time.Now(), "bench")
	var floor, plan time.Duration
	for b.Loop() {
		start := time.Now()
		decodeOnly(b, path)
		floor += time.Since(start)

		start = time.Now()
		st, err := snapshot.Read([]string{path}, snapshot.Options{})
		if err != nil {
			b.Fatal(err)
		}
		target, _ := planner.ParseTarget("v1.36.3")
		if _, err := planner.Plan(st, planner.Selection{To: target}, planner.Options{Now: time.Now(), Catalog: cat}); err != nil {
			b.Fatal(err)
		}
		plan += time.Since(start)
	}
	b.ReportMetric(float64(plan)/float64(floor), "x-floor")
	b.ReportMetric(float64(plan.Milliseconds())/float64(b.N), "ms/plan-all")
	b.ReportMetric(float64(machines), "machines")
}
