package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

type result struct {
	stdout, stderr string
	code           int
}

func capiPlanner(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KUBECONFIG=", "HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if strings.Contains(r.stderr, "panic") {
		t.Fatalf("capi-planner %v panicked:\n%s", args, r.stderr)
	}
	return r
}

// planJSON returns the plan document without the fields that depend on when and
// how it was made.
func planJSON(t *testing.T, r result) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not a plan document (%v):\n%s\n%s", err, r.stdout, r.stderr)
	}
	delete(doc["metadata"].(map[string]any), "generatedAt")
	return doc
}

// versions stands in for the release catalog, so both plans use the same list.
const versions = "v1.31.14,v1.32.13,v1.33.4,v1.34.3,v1.35.2,v1.35.4,v1.36.1,v1.36.3,v1.37.2"

// Against an API server loaded with the fixtures, plan --kubeconfig gives the same
// plans as plan -f fixtures/..., namespace by namespace.
func TestLivePlanEqualsSnapshotPlan(t *testing.T) {
	fixtures := map[string][]string{
		"topology-versions":  {"prod"},
		"topology-one-minor": {"staging"},
		"unmanaged":          {"legacy"},
		"machinepools":       {"batch"},
		"workers-lagging":    {"retail"},
		"defer-hold":         {"payments"},
		"fleet":              {"team-a", "team-b", "team-c"},
	}
	for fixture, namespaces := range fixtures {
		for _, ns := range namespaces {
			t.Run(fixture+"/"+ns, func(t *testing.T) {
				common := []string{"plan", "-n", ns, "--versions", versions, "-o", "json"}
				offline := capiPlanner(t, append(common, "-f", filepath.Join("fixtures", fixture))...)
				live := capiPlanner(t, append(common, "--kubeconfig", adminKubeconfig)...)
				if offline.code != live.code {
					t.Errorf("exit codes differ: offline %d, live %d\n%s", offline.code, live.code, live.stderr)
				}
				off, on := planJSON(t, offline), planJSON(t, live)
				// The API server holds the CAPI controllers of one fixture for all
				// namespaces; the management section is compared where the fixture has it.
				if fixture != "topology-versions" {
					delete(off["metadata"].(map[string]any), "management")
					delete(on["metadata"].(map[string]any), "management")
				}
				if !reflect.DeepEqual(off, on) {
					t.Errorf("plans differ:\noffline: %s\nlive:    %s", offline.stdout, live.stdout)
				}
				if live.stderr != offline.stderr {
					t.Errorf("stderr differs:\noffline: %s\nlive:    %s", offline.stderr, live.stderr)
				}
			})
		}
	}
}

// snapshot writes exactly what planning reads: planning the file gives the
// live plan, and the file holds no Secret.
func TestSnapshotRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "snap.yaml")
	r := capiPlanner(t, "snapshot", "--kubeconfig", adminKubeconfig, "-A", "-o", file)
	if r.code != 0 {
		t.Fatalf("snapshot: %d %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("kind: Secret")) {
		t.Error("the snapshot holds a Secret")
	}
	for _, ns := range []string{"prod", "payments", "team-b"} {
		common := []string{"plan", "-n", ns, "--versions", versions, "-o", "json"}
		live := capiPlanner(t, append(common, "--kubeconfig", adminKubeconfig)...)
		offline := capiPlanner(t, append(common, "-f", file)...)
		if !reflect.DeepEqual(planJSON(t, live), planJSON(t, offline)) {
			t.Errorf("%s: the plan of the snapshot differs from the live plan:\n%s\n%s", ns, live.stdout, offline.stdout)
		}
	}
}

func TestUnreachableServer(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "dead.kubeconfig")
	dead := regexp.MustCompile(`server: .*`).ReplaceAll(mustRead(t, adminKubeconfig), []byte("server: https://127.0.0.1:1"))
	if err := os.WriteFile(kubeconfig, dead, 0o600); err != nil {
		t.Fatal(err)
	}
	r := capiPlanner(t, "plan", "--kubeconfig", kubeconfig, "-A", "--request-timeout", "5s")
	if r.code != 1 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "cannot reach the management cluster at https://127.0.0.1:1") {
		t.Errorf("unreachable server: %d\n%s", r.code, r.stderr)
	}
	r = capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--context", "nope")
	if r.code != 1 || !strings.Contains(r.stderr, `context "nope" is not in --kubeconfig`) {
		t.Errorf("bad context: %d\n%s", r.code, r.stderr)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
