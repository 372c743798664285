// Package supportmatrix is Cluster API's support matrix: which Kubernetes
// versions each CAPI minor supports, from CAPI's own documentation
// (docs/book/src/reference/versions.md of the CAPI module capi-planner is built
// with). The table is generated (go generate), never typed in.
package supportmatrix

//go:generate go run ../../hack/gen-supportmatrix -o matrix_generated.go

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/blang/semver/v4"
)

// Entry is one cell of the core provider's matrix: a CAPI minor and a Kubernetes
// minor it supports. The kubeadm bootstrap and control plane providers follow
// the same matrix.
type Entry struct {
	CAPI       string // v1.14
	Kubernetes string // v1.37
	// WorkloadOnly: supported for workload clusters, not as the management cluster.
	WorkloadOnly bool
	// MinCAPI is the first CAPI patch release that supports it ("" for every patch).
	MinCAPI string
}

// Support is what the matrix says of a CAPI version and a Kubernetes version.
type Support struct {
	// Known is false when the matrix has no column for the CAPI minor.
	Known        bool
	Supported    bool
	WorkloadOnly bool
	// MinCAPI is the first CAPI release that supports the Kubernetes minor, when
	// the CAPI version is older than it.
	MinCAPI string
}

// Lookup says whether CAPI version capi supports Kubernetes version k8s.
func Lookup(capi, k8s semver.Version) Support {
	capiMinor, k8sMinor := fmt.Sprintf("v%d.%d", capi.Major, capi.Minor), fmt.Sprintf("v%d.%d", k8s.Major, k8s.Minor)
	var s Support
	for _, e := range entries {
		if e.CAPI != capiMinor {
			continue
		}
		s.Known = true
		if e.Kubernetes != k8sMinor {
			continue
		}
		s.WorkloadOnly = e.WorkloadOnly
		s.Supported = true
		if e.MinCAPI != "" {
			if min, err := semver.ParseTolerant(e.MinCAPI); err == nil && capi.LT(min) {
				s.Supported, s.MinCAPI = false, e.MinCAPI
			}
		}
	}
	return s
}

// ManagementMinors lists, in order, the Kubernetes minors the CAPI version capi
// supports for the management cluster (not only for workload clusters), minimum
// patch releases included: none when the matrix has no column for its minor.
func ManagementMinors(capi semver.Version) []string {
	capiMinor := fmt.Sprintf("v%d.%d", capi.Major, capi.Minor)
	var out []semver.Version
	for _, e := range entries {
		if e.CAPI != capiMinor || e.WorkloadOnly {
			continue
		}
		if min, err := semver.ParseTolerant(e.MinCAPI); e.MinCAPI != "" && (err != nil || capi.LT(min)) {
			continue
		}
		if k, err := semver.ParseTolerant(e.Kubernetes); err == nil {
			out = append(out, k)
		}
	}
	semver.Sort(out)
	minors := make([]string, len(out))
	for i, k := range out {
		minors[i] = fmt.Sprintf("v%d.%d", k.Major, k.Minor)
	}
	return minors
}

// FirstManagementRelease is the first CAPI release newer than capi that supports
// the minor of Kubernetes version k8s for the management cluster: the .0 release
// of a CAPI minor that does, or its minimum patch release; "" when none does.
func FirstManagementRelease(k8s, capi semver.Version) string {
	k8sMinor := fmt.Sprintf("v%d.%d", k8s.Major, k8s.Minor)
	var first *semver.Version
	for _, e := range entries {
		if e.Kubernetes != k8sMinor || e.WorkloadOnly {
			continue
		}
		release := e.MinCAPI
		if release == "" {
			release = e.CAPI + ".0"
		}
		v, err := semver.ParseTolerant(release)
		if err == nil && v.GT(capi) && (first == nil || v.LT(*first)) {
			first = &v
		}
	}
	if first == nil {
		return ""
	}
	return "v" + first.String()
}

// header of the core provider's section in versions.md.
const coreSection = "### Core provider (`cluster-api-controller`)"

var (
	minorRE = regexp.MustCompile(`v\d+\.\d+`)
	minRE   = regexp.MustCompile(`>=\s*(v\d+\.\d+\.\d+)`)
)

// Parse reads the core provider's support matrix from CAPI's versions.md.
func Parse(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	in := false
	var columns []string
	var out []Entry
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == coreSection:
			in = true
			continue
		case !in:
			continue
		case !strings.HasPrefix(line, "|"):
			if len(columns) > 0 {
				return out, check(out)
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case columns == nil:
			for _, c := range cells[1:] {
				columns = append(columns, minorRE.FindString(c))
			}
		case strings.HasPrefix(cells[0], "-"): // the separator row
		default:
			k8s := minorRE.FindString(cells[0])
			if k8s == "" || len(cells) != len(columns)+1 {
				return nil, fmt.Errorf("unexpected row %q in the core provider's support matrix", line)
			}
			for i, c := range cells[1:] {
				if !strings.Contains(c, "✓") {
					continue
				}
				e := Entry{CAPI: columns[i], Kubernetes: k8s, WorkloadOnly: strings.Contains(c, "only workload")}
				if m := minRE.FindStringSubmatch(c); m != nil {
					e.MinCAPI = m[1]
				}
				out = append(out, e)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, check(out)
}

func check(entries []Entry) error {
	if len(entries) == 0 {
		return errors.New("no support matrix found under " + coreSection)
	}
	for _, e := range entries {
		if e.CAPI == "" {
			return fmt.Errorf("a column of the support matrix has no CAPI version: %+v", e)
		}
	}
	return nil
}

// VersionsDoc is the support matrix's page in the CAPI module.
const VersionsDoc = "docs/book/src/reference/versions.md"

// Locate finds VersionsDoc of the CAPI module in go.mod, in the module cache,
// and the module's path@version. It runs the go command: for go generate and
// the test that keeps the generated table current.
func Locate() (doc, module string, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}}@{{.Version}} {{.Dir}}", "sigs.k8s.io/cluster-api").Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m sigs.k8s.io/cluster-api: %w (run go mod download)", err)
	}
	module, dir, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if dir == "" {
		return "", "", fmt.Errorf("the module %s is not in the module cache: run go mod download", module)
	}
	return filepath.Join(dir, filepath.FromSlash(VersionsDoc)), module, nil
}

// Generate writes the Go source of the generated table from versions.md.
func Generate(doc io.Reader, module string) ([]byte, error) {
	entries, err := Parse(doc)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by hack/gen-supportmatrix from %s %s; DO NOT EDIT.\n\npackage supportmatrix\n\n", module, VersionsDoc)
	fmt.Fprintf(&b, "// Source is where the support matrix comes from.\nconst Source = %q\n\n", module+" "+VersionsDoc)
	b.WriteString("var entries = []Entry{\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "\t{CAPI: %q, Kubernetes: %q, WorkloadOnly: %t, MinCAPI: %q},\n", e.CAPI, e.Kubernetes, e.WorkloadOnly, e.MinCAPI)
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
