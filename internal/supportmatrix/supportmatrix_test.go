package supportmatrix

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/blang/semver/v4"
)

// The generated table is what CAPI's versions.md in the module cache says (go generate rewrites it).
func TestGeneratedIsCurrent(t *testing.T) {
	path, module, err := Locate()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	want, err := Generate(doc, module)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("matrix_generated.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("matrix_generated.go is not what %s says: run go generate ./internal/supportmatrix", path)
	}
}

func TestLookup(t *testing.T) {
	v := semver.MustParse
	tests := []struct {
		capi, k8s string
		want      Support
	}{
		{"1.14.2", "1.37.2", Support{Known: true, Supported: true}},
		{"1.14.0", "1.37.2", Support{Known: true, MinCAPI: "v1.14.1"}},
		{"1.14.1", "1.37.0", Support{Known: true, Supported: true}},
		{"1.14.2", "1.31.14", Support{Known: true, Supported: true, WorkloadOnly: true}},
		{"1.14.2", "1.30.0", Support{Known: true}},
		{"1.14.2", "1.38.0", Support{Known: true}},
		{"1.12.7", "1.36.3", Support{Known: true, MinCAPI: "v1.12.8"}},
		{"1.99.0", "1.36.3", Support{}},
	}
	for _, tt := range tests {
		if got := Lookup(v(tt.capi), v(tt.k8s)); got != tt.want {
			t.Errorf("CAPI %s, Kubernetes %s: %+v, want %+v", tt.capi, tt.k8s, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	doc := "intro\n\n" + coreSection + "\n\ntext\n\n|   | v1.13 | v1.14, _x_ |\n|---|---|---|\n| Kubernetes v1.36 | ✓ >= v1.13.1 | ✓ |\n| Kubernetes v1.37 |  | ✓ (only workload) |\n\nafter\n| not | a | matrix |\n"
	got, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{CAPI: "v1.13", Kubernetes: "v1.36", MinCAPI: "v1.13.1"}, {CAPI: "v1.14", Kubernetes: "v1.36"}, {CAPI: "v1.14", Kubernetes: "v1.37", WorkloadOnly: true}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"no matrix here", coreSection + "\n\n|  | v1.14 |\n|---|---|\n| Kubernetes v1.36 | ✓ | ✓ |\n"} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestManagementMinors(t *testing.T) {
	tests := []struct {
		capi string
		want string
	}{
		{"1.14.2", "v1.33 v1.34 v1.35 v1.36 v1.37"},
		{"1.14.0", "v1.33 v1.34 v1.35 v1.36"}, // v1.37 from v1.14.1
		{"1.13.0", "v1.32 v1.33 v1.34 v1.35"}, // v1.36 from v1.13.1, v1.37 from v1.13.6
		{"1.12.8", "v1.31 v1.32 v1.33 v1.34 v1.35 v1.36"},
		{"1.99.0", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(ManagementMinors(semver.MustParse(tt.capi)), " "); got != tt.want {
			t.Errorf("CAPI %s: %q, want %q", tt.capi, got, tt.want)
		}
	}
}

func TestFirstManagementRelease(t *testing.T) {
	tests := []struct {
		k8s, capi, want string
	}{
		{"1.36.3", "1.13.0", "v1.13.1"}, // the installed minor's minimum patch
		{"1.36.3", "1.12.3", "v1.12.8"},
		{"1.37.2", "1.12.8", "v1.13.6"}, // the next minor's minimum patch
		{"1.37.2", "1.13.6", "v1.14.1"}, // newer than the installed release only
		{"1.32.4", "1.14.2", ""},        // only older minors support it for the management cluster
		{"1.38.0", "1.14.2", ""},
		{"1.31.1", "1.11.0", "v1.12.0"},
	}
	for _, tt := range tests {
		if got := FirstManagementRelease(semver.MustParse(tt.k8s), semver.MustParse(tt.capi)); got != tt.want {
			t.Errorf("Kubernetes %s after CAPI %s: %q, want %q", tt.k8s, tt.capi, got, tt.want)
		}
	}
}
