package integration

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/state"
)

// planExtension is a GenerateUpgradePlan extension served over real TLS. Handler
// "chain" answers a plan through every minor, "failing" answers Failure, and
// "skipping" answers a plan that skips a minor.
type planExtension struct {
	mu       sync.Mutex
	requests []runtimehooksv1.GenerateUpgradePlanRequest
}

func (e *planExtension) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := runtimehooksv1.GenerateUpgradePlanRequest{}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.requests = append(e.requests, req)
	e.mu.Unlock()
	resp := runtimehooksv1.GenerateUpgradePlanResponse{}
	resp.SetGroupVersionKind(runtimehooksv1.GroupVersion.WithKind("GenerateUpgradePlanResponse"))
	resp.Status = runtimehooksv1.ResponseStatusSuccess
	const prefix = "/hooks.runtime.cluster.x-k8s.io/v1alpha1/generateupgradeplan/"
	switch strings.TrimPrefix(r.URL.Path, prefix) {
	case "chain":
		for _, v := range []string{"v1.34.3", "v1.35.2", "v1.36.3"} {
			if v > req.FromControlPlaneKubernetesVersion && v <= req.ToKubernetesVersion {
				resp.ControlPlaneUpgrades = append(resp.ControlPlaneUpgrades, runtimehooksv1.UpgradeStep{Version: v})
			}
		}
	case "failing":
		resp.Status = runtimehooksv1.ResponseStatusFailure
		resp.Message = "upgrades are frozen until the audit ends"
	case "skipping":
		resp.ControlPlaneUpgrades = []runtimehooksv1.UpgradeStep{{Version: "v1.35.2"}, {Version: "v1.36.3"}}
	default:
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(&resp)
}

func TestGenerateUpgradePlanExtension(t *testing.T) {
	ext := &planExtension{}
	server := httptest.NewTLSServer(ext)
	defer server.Close()
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})

	ec := fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "upgrade-plans-tls", URL: server.URL})
	ec.Spec.ClientConfig.CABundle = caBundle
	for _, h := range []string{"chain", "failing", "skipping"} {
		ec.Status.Handlers = append(ec.Status.Handlers, runtimev1.ExtensionHandler{
			// As CAPI's discovery registers handler h of ExtensionConfig upgrade-plans-tls.
			Name: h + ".upgrade-plans-tls", RequestHook: runtimev1.GroupVersionHook{APIVersion: runtimehooksv1.GroupVersion.String(), Hook: "GenerateUpgradePlan"},
			TimeoutSeconds: 5, FailurePolicy: runtimev1.FailurePolicyFail,
		})
	}
	st := &state.State{}
	objs := fleet.Objects{fleet.Namespace("ext", nil), ec}
	for _, h := range []string{"chain", "failing", "skipping"} {
		objs = append(objs, fleet.ClusterClass(fleet.ClassSpec{Namespace: "ext", Name: "class-" + h, Extension: h + ".upgrade-plans-tls"})...)
		objs = append(objs, fleet.Cluster(fleet.ClusterSpec{Namespace: "ext", Name: h, Class: "class-" + h, ControlPlaneVersion: "v1.33.4", Replicas: 3,
			Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 2}}})...)
	}
	for _, o := range objs {
		if err := st.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := create(context.Background(), st); err != nil {
		t.Fatal(err)
	}

	r := capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--cluster", "ext/chain", "--to", "v1.36.3", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var doc struct {
		Clusters []struct {
			Status      string
			UpgradePlan struct{ ControlPlane, Workers []string }
			Steps       []struct{ Kind, Version string }
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Clusters[0]
	if p.Status != "Planned" || !slices.Equal(p.UpgradePlan.ControlPlane, []string{"v1.34.3", "v1.35.2", "v1.36.3"}) || !slices.Equal(p.UpgradePlan.Workers, []string{"v1.36.3"}) || len(p.Steps) != 4 {
		t.Errorf("plan from the extension: %+v", p)
	}
	ext.mu.Lock()
	first := ext.requests[0]
	ext.mu.Unlock()
	if first.Cluster.Name != "chain" || first.FromControlPlaneKubernetesVersion != "v1.33.4" || first.FromWorkersKubernetesVersion != "v1.33.4" || first.ToKubernetesVersion != "v1.36.3" {
		t.Errorf("request: cluster %s from %s/%s to %s", first.Cluster.Name, first.FromControlPlaneKubernetesVersion, first.FromWorkersKubernetesVersion, first.ToKubernetesVersion)
	}
	if len(first.Cluster.ManagedFields) != 0 || !reflect.DeepEqual(first.Cluster.Status, clusterv1.ClusterStatus{}) {
		t.Errorf("the Cluster in the request is not cleaned as CAPI cleans it: %+v", first.Cluster.Status)
	}
	if first.Cluster.Spec.Topology.Version != "v1.33.4" {
		t.Errorf("request cluster topology version %s", first.Cluster.Spec.Topology.Version)
	}

	r = capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--cluster", "ext/failing", "--to", "v1.36.3")
	if r.Code != 1 || !strings.Contains(r.Stderr, "[UpgradePlanExtensionFailed]") || !strings.Contains(r.Stderr, `"failing.upgrade-plans-tls"`) || !strings.Contains(r.Stderr, "upgrades are frozen until the audit ends") {
		t.Errorf("failing extension: %d\n%s", r.Code, r.Stderr)
	}
	r = capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--cluster", "ext/skipping", "--to", "v1.36.3")
	if r.Code != 1 || !strings.Contains(r.Stderr, "[InvalidUpgradePlan]") || !strings.Contains(r.Stderr, `extension "skipping.upgrade-plans-tls"`) || !strings.Contains(r.Stderr, "expecting a version with minor 33 or 34") {
		t.Errorf("invalid extension answer: %d\n%s", r.Code, r.Stderr)
	}
}
