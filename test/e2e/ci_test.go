package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestCIDocCommands runs every capi-planner command of docs/ci.md, as its jobs
// run them, on a snapshot of the demo fixture, and checks that the jobs are YAML.
func TestCIDocCommands(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) != 3 {
		t.Fatalf("docs/ci.md has %d YAML blocks, want 3 (GitHub, GitLab, ignore file)", len(blocks))
	}
	for _, b := range blocks {
		var v any
		if err := yaml.Unmarshal([]byte(b[1]), &v); err != nil {
			t.Errorf("not YAML: %v\n%s", err, b[1])
		}
	}
	// The repository: the snapshot, the ignore file, and capi-planner on PATH.
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "snapshots"), 0o755); err != nil {
		t.Fatal(err)
	}
	var snapshot []string
	for _, f := range []string{"cluster.yaml", "clusterclass.yaml", "extensions.yaml", "management.yaml"} {
		data, err := os.ReadFile(filepath.Join("../../fixtures/topology-versions", f))
		if err != nil {
			t.Fatal(err)
		}
		snapshot = append(snapshot, string(data))
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("snapshots/mgmt.yaml", strings.Join(snapshot, "---\n"))
	write("snapshots/ignore.yaml", blocks[2][1])
	bin := t.TempDir()
	abs, err := filepath.Abs(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(bin, "capi-planner")); err != nil {
		t.Fatal(err)
	}
	var commands []string
	for _, b := range blocks[:2] {
		for _, line := range strings.Split(b[1], "\n") {
			line = strings.TrimPrefix(strings.TrimSpace(line), "- ")
			if strings.HasPrefix(line, "capi-planner ") {
				commands = append(commands, line)
			}
		}
	}
	if len(commands) != 3 {
		t.Fatalf("found %d capi-planner commands, want 3:\n%s", len(commands), strings.Join(commands, "\n"))
	}
	type sarifResult struct {
		RuleID       string
		Suppressions []struct{ Justification string }
		Locations    []struct {
			PhysicalLocation struct{ ArtifactLocation struct{ URI string } }
		}
	}
	for _, c := range commands {
		// As the jobs run them: in bash -e, the exit code kept in $code.
		cmd := exec.Command("bash", "-ec", "code=0\n"+c+"\necho $code")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG=", "HOME="+t.TempDir())
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", c, err, out, stderr.String())
		}
		code := strings.TrimSpace(string(out))
		switch {
		case strings.Contains(c, "-o markdown"):
			// The demo's control plane steps replace Machines: the gate fails, the plan is written.
			plan, _ := os.ReadFile(filepath.Join(repo, "plan.md"))
			if code != "3" || !strings.HasPrefix(string(plan), "# Upgrade plan") || strings.Contains(string(plan), "**WorkersCannotScale**") || !strings.Contains(string(plan), "1 suppressed (WorkersCannotScale)") {
				t.Errorf("%s: code %s\n%s", c, code, plan)
			}
		case strings.Contains(c, "-o sarif"):
			data, _ := os.ReadFile(filepath.Join(repo, "plan.sarif"))
			var log struct {
				Version string
				Runs    []struct{ Results []sarifResult }
			}
			if err := json.Unmarshal(data, &log); err != nil || code != "0" || log.Version != "2.1.0" {
				t.Fatalf("%s: code %s %v\n%s", c, code, err, data)
			}
			results := slices.DeleteFunc(log.Runs[0].Results, func(r sarifResult) bool { return dated(r.RuleID) })
			if len(results) != 1 {
				t.Fatalf("%s: %d results besides the end of life, want 1\n%s", c, len(results), data)
			}
			r := results[0]
			if r.RuleID != "WorkersCannotScale" || len(r.Suppressions) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI != "snapshots/mgmt.yaml" {
				t.Errorf("%s: %+v", c, r)
			}
		default:
			t.Errorf("a command the test does not check: %s", c)
		}
	}
}
