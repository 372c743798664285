package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/discovery"

	"github.com/capi-planner/capi-planner/catalog"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/state/live"
)

// managementFindings returns the ManagementClusterVersionUnsupported messages of
// a JSON plan, one per Cluster plan that has it, and the number of Cluster plans.
func managementFindings(t *testing.T, stdout string) (msgs []string, clusters int) {
	t.Helper()
	var doc struct {
		Clusters []struct {
			Findings []struct {
				Rule, Message string
			} `json:"findings"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, c := range doc.Clusters {
		for _, f := range c.Findings {
			if f.Rule == string(planner.RuleManagementVersionUnsupported) {
				msgs = append(msgs, f.Message)
			}
		}
	}
	return msgs, len(doc.Clusters)
}

// Live, the management cluster's Kubernetes version is the API server's
// /version: envtest's kube-apiserver is built as v1.36.3 (hack/envtest.sh). The
// fixtures' core provider is CAPI v1.14.2, which supports v1.36 for the
// management cluster, so the live plan reports nothing. The snapshot records the
// version; planned with the core controller's image set to v1.13.0 (v1.36 needs
// v1.13.1 or newer), the same version is reported, with the way out.
func TestManagementClusterVersionLive(t *testing.T) {
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	info, err := disc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if info.GitVersion != "v1.36.3" {
		t.Fatalf("envtest's kube-apiserver is %s; this test expects v1.36.3 (hack/envtest.sh)", info.GitVersion)
	}
	res, err := live.Read(context.Background(), cfg, live.Options{Namespace: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.State.Management; m == nil || m.KubernetesVersion != info.GitVersion {
		t.Fatalf("the live read's management cluster: %+v, want Kubernetes %s", m, info.GitVersion)
	}

	// Live: CAPI v1.14.2 supports v1.36 for the management cluster.
	r := capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "-n", "prod", "--versions", versions, "-o", "json")
	if msgs, n := managementFindings(t, r.Stdout); len(msgs) != 0 || n == 0 {
		t.Errorf("live plan of %d Clusters: %v\n%s", n, msgs, r.Stderr)
	}

	// The snapshot records the version, first.
	file := filepath.Join(t.TempDir(), "snap.yaml")
	if r := capiPlanner(t, "snapshot", "--kubeconfig", adminKubeconfig, "-n", "prod", "-o", file); r.Code != 0 {
		t.Fatalf("snapshot: %d %s", r.Code, r.Stderr)
	}
	data := string(mustRead(t, file))
	record := "---\napiVersion: capi-planner.io/v1alpha1\nkind: ManagementCluster\nkubernetesVersion: v1.36.3\nmetadata:\n  name: management\n---\n"
	if _, rest, ok := strings.Cut(data, "\n"); !ok || !strings.HasPrefix(rest, record) {
		t.Errorf("the snapshot does not start with the record %q:\n%.400s", record, data)
	}

	// The snapshot with an older core provider: planned offline, the version recorded live is checked.
	const image = "registry.k8s.io/cluster-api/cluster-api-controller:"
	if !strings.Contains(data, image+"v1.14.2") {
		t.Fatalf("the snapshot has no core controller of v1.14.2:\n%s", data)
	}
	older := filepath.Join(t.TempDir(), "older.yaml")
	if err := os.WriteFile(older, []byte(strings.ReplaceAll(data, image+"v1.14.2", image+"v1.13.0")), 0o600); err != nil {
		t.Fatal(err)
	}
	r = capiPlanner(t, "plan", "-f", older, "--versions", versions, "-o", "json")
	msgs, n := managementFindings(t, r.Stdout)
	want := "the management cluster runs Kubernetes v1.36.3; the installed core provider, CAPI v1.13.0, does not support v1.36: CAPI v1.13.1 or newer does, by CAPI's support matrix"
	if len(msgs) != n || n == 0 || !strings.Contains(msgs[0], want) || !strings.HasSuffix(msgs[0], ": upgrade CAPI to v1.13.1 or newer, which supports v1.36 for the management cluster") {
		t.Errorf("plan of the snapshot with CAPI v1.13.0, %d Clusters: %q\n%s", n, msgs, r.Stderr)
	}

	// In process, the state read live gives the same finding.
	for _, d := range res.State.Controllers {
		for i, c := range d.Spec.Template.Spec.Containers {
			d.Spec.Template.Spec.Containers[i].Image = strings.ReplaceAll(c.Image, image+"v1.14.2", image+"v1.13.0")
		}
	}
	p, err := planner.Plan(context.Background(), res.State, planner.Selection{}, planner.Options{Now: time.Now(), Catalog: catalog.New(time.Now(), "test", strings.Split(versions, ",")...)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Clusters {
		var got []string
		for _, f := range c.Findings {
			if f.Rule == planner.RuleManagementVersionUnsupported {
				got = append(got, f.Message)
			}
		}
		if len(got) != 1 || !strings.Contains(got[0], want) {
			t.Errorf("Cluster %s planned in process: %q", c.Cluster.Name, got)
		}
	}
}
