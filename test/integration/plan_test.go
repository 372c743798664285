package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/internal/testutil/clitest"
)

func capiPlanner(t *testing.T, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, binary, root, "", args...)
}

// planJSON returns the plan document without the fields that depend on when and
// how it was made.
func planJSON(t *testing.T, r clitest.Result) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("not a plan document (%v):\n%s\n%s", err, r.Stdout, r.Stderr)
	}
	delete(doc["metadata"].(map[string]any), "generatedAt")
	return doc
}

// withoutKey drops a key at every depth of a decoded JSON document.
func withoutKey(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		delete(x, key)
		for k, e := range x {
			x[k] = withoutKey(e, key)
		}
	case []any:
		for i, e := range x {
			x[i] = withoutKey(e, key)
		}
	}
	return v
}

// versions stands in for the release catalog, so both plans use the same list.
const versions = "v1.31.14,v1.32.13,v1.33.4,v1.34.3,v1.35.2,v1.35.4,v1.36.1,v1.36.3,v1.37.2"

// Against an API server loaded with the fixtures, plan --kubeconfig gives the same
// plans as plan -f fixtures/, namespace by namespace (cluster-scoped objects such
// as ExtensionConfigs, and the controllers, apply to every namespace in both).
func TestLivePlanEqualsSnapshotPlan(t *testing.T) {
	for _, ns := range []string{"prod", "staging", "legacy", "batch", "retail", "payments", "team-a", "team-b", "team-c", "observability"} {
		t.Run(ns, func(t *testing.T) {
			common := []string{"plan", "-n", ns, "--versions", versions, "-o", "json"}
			offline := capiPlanner(t, append(common, "-f", "fixtures")...)
			live := capiPlanner(t, append(common, "--kubeconfig", adminKubeconfig)...)
			if offline.Code != live.Code {
				t.Errorf("exit codes differ: offline %d, live %d\n%s", offline.Code, live.Code, live.Stderr)
			}
			// Durations rest on creationTimestamps, which the API server sets anew.
			if !reflect.DeepEqual(withoutKey(planJSON(t, offline), "duration"), withoutKey(planJSON(t, live), "duration")) {
				t.Errorf("plans differ:\noffline: %s\nlive:    %s", offline.Stdout, live.Stdout)
			}
			if live.Stderr != offline.Stderr {
				t.Errorf("stderr differs:\noffline: %s\nlive:    %s", offline.Stderr, live.Stderr)
			}
		})
	}
}

// snapshot writes exactly what planning reads: planning the file gives the
// live plan, and the file holds no Secret.
func TestSnapshotRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "snap.yaml")
	r := capiPlanner(t, "snapshot", "--kubeconfig", adminKubeconfig, "-A", "-o", file)
	if r.Code != 0 {
		t.Fatalf("snapshot: %d %s", r.Code, r.Stderr)
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
			t.Errorf("%s: the plan of the snapshot differs from the live plan:\n%s\n%s", ns, live.Stdout, offline.Stdout)
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
	if r.Code != 1 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.Contains(r.Stderr, "cannot reach the management cluster at https://127.0.0.1:1") {
		t.Errorf("unreachable server: %d\n%s", r.Code, r.Stderr)
	}
	r = capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--context", "nope")
	if r.Code != 1 || !strings.Contains(r.Stderr, `context "nope" is not in --kubeconfig`) {
		t.Errorf("bad context: %d\n%s", r.Code, r.Stderr)
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
