// Package bench measures planning against floors measured in the same run, so
// the figures are ratios that hold on any machine. `make bench` runs it.
package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/capi-planner/capi-planner/catalog"
	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/internal/gctune"
	"github.com/capi-planner/capi-planner/internal/testutil/peakrss"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/state/snapshot"
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
	ratio := float64(plan) / float64(floor)
	b.ReportMetric(ratio, "x-floor")
	b.ReportMetric(plan.Seconds()/float64(b.N), "s/plan-all")
	b.ReportMetric(floor.Seconds()/float64(b.N), "s/floor")
	b.Logf("offline plan-all: %.2fs, %.2fx its floor of %.2fs (target: at most %.1fx)", plan.Seconds()/float64(b.N), ratio, floor.Seconds()/float64(b.N), offlineTarget)
	if ratio > offlineTarget {
		b.Errorf("offline plan-all took %.2fx its floor: the target is at most %.1fx (docs/performance.md)", ratio, offlineTarget)
	}
}

// The targets of docs/performance.md: a benchmark that misses one fails, so
// `make bench` exits non-zero.
const (
	offlineTarget = 1.2
	peakRSSTarget = 500 << 20
	// largeDocumentTarget bounds the memory a very large document costs,
	// beyond the floor, as a multiple of its size.
	largeDocumentTarget = 2.0
)

// BenchmarkPeakRSS runs the capi-planner binary on the same snapshot and reports
// its peak resident memory.
func BenchmarkPeakRSS(b *testing.B) {
	path := writeFleet(b)
	bin := buildBinary(b)
	var peak int64
	for b.Loop() {
		peak = max(peak, peakRSS(b, bin, "plan", "-f", path, "--to", "v1.36.3", "-o", "json", "--versions", "v1.33.4,v1.34.3,v1.35.2,v1.36.3"))
	}
	b.ReportMetric(float64(peak)/(1<<20), "MB-peak-rss")
	b.Logf("peak RSS: %d MB (target: under %d MB)", peak>>20, peakRSSTarget>>20)
	if peak > peakRSSTarget {
		b.Errorf("peak RSS %d MB: the target is under %d MB", peak>>20, peakRSSTarget>>20)
	}
}

// largeDocumentSize is the size of the one-document List of
// BenchmarkPeakRSSLargeDocument.
const largeDocumentSize = 200 << 20

// writeLargeDocument writes a List of ConfigMaps of about size bytes as one
// document, as kubectl get writes a List: -o yaml (format "yaml") or -o json.
func writeLargeDocument(b *testing.B, format string, size int) string {
	path := filepath.Join(b.TempDir(), "large."+format)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	blob := strings.Repeat("capi-planner ", 300)
	head, item, sep, tail := "apiVersion: v1\nkind: List\nitems:\n",
		"- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cm-%d\n    namespace: default\n  data:\n    blob: %s\n", "", ""
	if format == "json" {
		head, sep, tail = "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"List\",\n    \"items\": [\n", ",\n", "\n    ]\n}\n"
		item = "        {\n            \"apiVersion\": \"v1\",\n            \"kind\": \"ConfigMap\",\n            \"metadata\": {\n                \"name\": \"cm-%d\",\n                \"namespace\": \"default\"\n            },\n            \"data\": {\n                \"blob\": %q\n            }\n        }"
	}
	fmt.Fprint(w, head)
	for i, n := 0, 0; n < size; i++ {
		if i > 0 {
			fmt.Fprint(w, sep)
		}
		k, _ := fmt.Fprintf(w, item, i, blob)
		n += k
	}
	fmt.Fprint(w, tail)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return path
}

// peakRSS runs the binary, which must succeed, and returns its peak resident
// memory in bytes.
func peakRSS(b *testing.B, bin string, args ...string) int64 {
	peak, code, err := peakrss.Run(bin, args...)
	if err != nil || code != 0 {
		b.Fatalf("%s %s: exit %d, %v", bin, strings.Join(args, " "), code, err)
	}
	return peak
}

func TestMain(m *testing.M) {
	peakrss.Main()
	os.Exit(m.Run())
}

// BenchmarkPeakRSSLargeDocument plans the bundled example with a 200 MB
// one-document List beside it, in YAML and in JSON, and reports the peak
// resident memory beyond the floor (the same plan without the List), as a
// multiple of the List's size.
func BenchmarkPeakRSSLargeDocument(b *testing.B) {
	bin := buildBinary(b)
	example := "../../fixtures/topology-versions"
	for _, format := range []string{"yaml", "json"} {
		b.Run(format, func(b *testing.B) {
			large := writeLargeDocument(b, format, largeDocumentSize)
			fi, err := os.Stat(large)
			if err != nil {
				b.Fatal(err)
			}
			var floor, peak int64
			for b.Loop() {
				floor = max(floor, peakRSS(b, bin, "plan", "-f", example, "-o", "json"))
				peak = max(peak, peakRSS(b, bin, "plan", "-f", example, "-f", large, "-o", "json"))
			}
			ratio := float64(peak-floor) / float64(fi.Size())
			b.ReportMetric(float64(peak)/(1<<20), "MB-peak-rss")
			b.ReportMetric(float64(floor)/(1<<20), "MB-floor-rss")
			b.ReportMetric(ratio, "x-document")
			b.Logf("a %d MB %s document: %.2fx its size beyond the floor (target: at most %.1fx)", fi.Size()>>20, format, ratio, largeDocumentTarget)
			if ratio > largeDocumentTarget {
				b.Errorf("a %d MB %s document cost %.2fx its size in memory beyond the floor: the target is at most %.1fx", fi.Size()>>20, format, ratio, largeDocumentTarget)
			}
		})
	}
}

// buildBinary builds the capi-planner binary for the benchmarks that run it.
func buildBinary(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "capi-planner")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/capi-planner")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatal(err)
	}
	return bin
}
