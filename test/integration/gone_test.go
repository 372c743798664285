package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A live read that finds no Cluster names the host and the namespace, and
// the flags to check (not -f, which a live read has nothing to do with).
func TestLiveWithoutClusters(t *testing.T) {
	r := capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "-n", "nowhere")
	if r.Code != 1 || !strings.Contains(r.Stderr, "holds no Cluster in namespace nowhere: check --context, -n (or -A for every namespace) and -l") || strings.Contains(r.Stderr, "-f") {
		t.Errorf("plan -n nowhere: exit %d\n%s", r.Code, r.Stderr)
	}
}

// apply of a saved plan whose Cluster the management cluster does not hold
// says so, instead of asking for a --cluster flag that apply FILE does not take.
func TestApplySavedPlanOfAClusterGone(t *testing.T) {
	dir := t.TempDir()
	snapshot := strings.ReplaceAll(string(mustRead(t, filepath.Join(root, "fixtures", "topology-versions", "cluster.yaml"))), "name: web\n", "name: gone\n")
	if !strings.Contains(snapshot, "name: gone\n") {
		t.Fatal("the fixture's Cluster is not named web any more")
	}
	files := filepath.Join(dir, "snapshot")
	if err := os.MkdirAll(files, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"clusterclass.yaml", "extensions.yaml", "management.yaml"} {
		if err := os.WriteFile(filepath.Join(files, f), mustRead(t, filepath.Join(root, "fixtures", "topology-versions", f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(files, "cluster.yaml"), []byte(snapshot), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(dir, "plan.json")
	if r := capiPlanner(t, "plan", "-f", files, "--cluster", "prod/gone", "--to", "v1.36.3", "--out", plan); r.Code != 0 {
		t.Fatalf("plan --out: exit %d\n%s", r.Code, r.Stderr)
	}
	r := capiPlanner(t, "apply", plan, "--kubeconfig", adminKubeconfig, "--yes")
	if r.Code != 1 || !strings.Contains(r.Stderr, "the saved plan's Cluster prod/gone is not in the management cluster: it was deleted, or --kubeconfig/--context reach another management cluster") {
		t.Errorf("apply: exit %d\n%s", r.Code, r.Stderr)
	}
	t.Logf("apply of the saved plan:\n%s", r.Stderr)
}
