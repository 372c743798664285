// Package bench measures planning against floors measured in the same run, so
// the figures are ratios that hold on any machine. `make bench` runs it.
package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/capi-planner/capi-planner/internal/catalog"
	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/internal/gctune"
	"github.com/capi-planner/capi-planner/internal/state/snapshot"
	"github.com/capi-planner/capi-planner/planner"
)

// The fleet of the targets in docs/performance.md.
var fleetSpec = fleet.FleetSpec{Clusters: 500, Machines: 25000, Namespaces: 25}

var (
	fleetOnce sync.Once
	fleetFile string
	fleetErr  error
)

// writeFleet writes the generated fleet once per run.
func writeFleet(b *testing.B) string {
	fleetOnce.Do(func() {
		dir, err := os.MkdirTemp("", "capi-planner-bench")
		if err != nil {
			fleetErr = err
			return
		}
		fleetFile = filepath.Join(dir, "fleet.yaml")
		f, err := os.Create(fleetFile)
		if err != nil {
			fleetErr = err
			return
		}
		defer f.Close()
		_, fleetErr = fleet.WriteFleet(f, fleetSpec)
	})
	if fleetErr != nil {
		b.Fatal(fleetErr)
	}
	return fleetFile
}

// decodeOnly is the floor: split the file into documents and decode each into
// generic maps on every core, which any reader of the same YAML must do at least.
func decodeOnly(b *testing.B, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	docs := bytes.Split(data, []byte("\n---\n"))
	var wg sync.WaitGroup
	next := make(chan []byte)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for doc := range next {
				j, err := yaml.YAMLToJSON(doc)
				if err != nil {
					panic(err)
				}
				var m map[string]any
				if err := json.Unmarshal(j, &m); err != nil {
					panic(err)
				}
			}
		})
	}
	for _, d := range docs {
		next <- d
	}
	close(next)
	wg.Wait()
}

func planAll(b *testing.B, path string) *planner.UpgradePlan {
	st, err := snapshot.Read(b.Context(), []string{path}, snapshot.Options{})
	if err != nil {
		b.Fatal(err)
	}
	target, _ := planner.ParseTarget("v1.36.3")
	p, err := planner.Plan(b.Context(), st, planner.Selection{To: target}, planner.Options{Now: time.Now(), Catalog: catalog.New(time.Now(), "bench", "v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3")})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkOfflinePlanAll reads and plans every Cluster of a 500-Cluster,
// 25,000-Machine snapshot and reports the time against the decode-only floor
// of the same file (x-floor), measured in the same loop.
func BenchmarkOfflinePlanAll(b *testing.B) {
	gctune.Apply() // as the capi-planner binary runs
	path := writeFleet(b)
	var floor, plan time.Duration
	for b.Loop() {
		start := time.Now()
		decodeOnly(b, path)
		floor += time.Since(start)

		start = time.Now()
		p := planAll(b, path)
		plan += time.Since(start)
		if len(p.Clusters) != fleetSpec.Clusters {
			b.Fatalf("planned %d clusters", len(p.Clusters))
		}
	}
	b.ReportMetric(float64(plan)/float64(floor), "x-floor")
	b.ReportMetric(plan.Seconds()/float64(b.N), "s/plan-all")
	b.ReportMetric(floor.Seconds()/float64(b.N), "s/floor")
}

// BenchmarkPeakRSS runs the capi-planner binary on the same snapshot and reports
// its peak resident memory.
func BenchmarkPeakRSS(b *testing.B) {
	path := writeFleet(b)
	bin := filepath.Join(b.TempDir(), "capi-planner")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/capi-planner")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatal(err)
	}
	var peak int64
	for b.Loop() {
		cmd := exec.Command(bin, "plan", "-f", path, "--to", "v1.36.3", "-o", "json", "--versions", "v1.33.4,v1.34.3,v1.35.2,v1.36.3")
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss) // kilobytes on Linux
		}
	}
	b.ReportMetric(float64(peak)/1024, "MB-peak-rss")
}
