package integration

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/internal/testutil/clitest"
	"github.com/capi-planner/capi-planner/state"
)

// etcdPatchExtension is a GeneratePatches extension served over real TLS: it
// sets the control plane's etcd image tag from builtin.controlPlane.version, as
// the inline patches of fleet.ClassSpec.Patches do.
type etcdPatchExtension struct{ calls atomic.Int32 }

func (e *etcdPatchExtension) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Only where CAPI's runtime server would route GeneratePatches to this handler.
	if r.URL.Path != "/hooks.runtime.cluster.x-k8s.io/v1alpha1/generatepatches/"+fleet.HandlerName("GeneratePatches") {
		http.NotFound(w, r)
		return
	}
	e.calls.Add(1)
	req := runtimehooksv1.GeneratePatchesRequest{}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := runtimehooksv1.GeneratePatchesResponse{}
	resp.Status = runtimehooksv1.ResponseStatusSuccess
	for _, item := range req.Items {
		var obj struct{ Kind string }
		if err := json.Unmarshal(item.Object.Raw, &obj); err != nil || obj.Kind != "KubeadmControlPlaneTemplate" {
			continue
		}
		var builtins runtimehooksv1.Builtins
		for _, v := range item.Variables {
			if v.Name == runtimehooksv1.BuiltinsName {
				_ = json.Unmarshal(v.Value.Raw, &builtins)
			}
		}
		if builtins.ControlPlane == nil {
			http.Error(w, "no builtin.controlPlane in the request", http.StatusBadRequest)
			return
		}
		patch := fmt.Sprintf(`[{"op":"add","path":"/spec/template/spec/kubeadmConfigSpec/clusterConfiguration/etcd","value":{"local":{"imageTag":%q}}}]`, fleet.EtcdImageTag(builtins.ControlPlane.Version))
		resp.Items = append(resp.Items, runtimehooksv1.GeneratePatchesResponseItem{UID: item.UID, PatchType: runtimehooksv1.JSONPatchType, Patch: []byte(patch)})
	}
	_ = json.NewEncoder(w).Encode(&resp)
}

// External ClusterClass patches are evaluated live by calling their
// GeneratePatches extension, as the topology controller calls it; offline they
// cannot be, and the predictions say so.
func TestExternalPatchesLive(t *testing.T) {
	ext := &etcdPatchExtension{}
	server := httptest.NewTLSServer(ext)
	defer server.Close()
	const ns = "ext-patches"
	// Both ExtensionConfigs select this namespace only, so other tests' plans do not see them.
	only := map[string]string{"extpatches": ns}
	ec := fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "etcd-patches", URL: server.URL, Hooks: []string{"GeneratePatches"}, NamespaceSelector: only})
	ec.Spec.ClientConfig.CABundle = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	// An in-place extension (not called: no --ask-extensions), so the patches' differences decide.
	inPlace := fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "etcd-patches-in-place", URL: server.URL, NamespaceSelector: only,
		Hooks: []string{"CanUpdateMachine", "CanUpdateMachineSet", "UpdateMachine"}})
	objs := fleet.Objects{fleet.Namespace(ns, only), ec, inPlace}
	class := fleet.ClusterClass(fleet.ClassSpec{Namespace: ns, Name: "class", Versions: []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3"}})
	class[0].(*clusterv1.ClusterClass).Spec.Patches = []clusterv1.ClusterClassPatch{{Name: "remote-etcd",
		External: &clusterv1.ExternalPatchDefinition{GeneratePatchesExtension: "generate-patches.etcd-patches"}}}
	objs = append(objs, class...)
	objs = append(objs, fleet.Cluster(fleet.ClusterSpec{Namespace: ns, Name: "c", Class: "class", ControlPlaneVersion: "v1.33.4", Replicas: 3, ClassPatches: true,
		Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 2}}})...)
	st := &state.State{}
	for _, o := range objs {
		if err := st.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := create(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	r := capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--cluster", ns+"/c", "--to", "v1.36.3", "-o", "json", "--feature-gates", "InPlaceUpdates=true,RuntimeSDK=true")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var doc struct {
		Clusters []struct {
			Steps []struct {
				Kind    string
				Changes []struct {
					Prediction struct {
						Rule, Verdict string
						Differences   []string
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatal(err)
	}
	for i, s := range doc.Clusters[0].Steps {
		p := s.Changes[0].Prediction
		etcd := slices.Contains(p.Differences, "kubeadmConfig.spec.clusterConfiguration.etcd.local.imageTag")
		if s.Kind == "ControlPlane" && (!etcd || p.Rule != "ChangeNotCovered") || s.Kind == "Workers" && (etcd || p.Rule != "InPlaceUpdate") {
			t.Errorf("step %d (%s): %s %s %v", i+1, s.Kind, p.Rule, p.Verdict, p.Differences)
		}
	}
	if ext.calls.Load() == 0 {
		t.Error("the GeneratePatches extension was never called")
	}

	// Offline, from a snapshot of the same namespace: not evaluated, and said why.
	snap := capiPlanner(t, "snapshot", "--kubeconfig", adminKubeconfig, "-n", ns, "-o", "-")
	if snap.Code != 0 {
		t.Fatalf("snapshot: exit %d\n%s", snap.Code, snap.Stderr)
	}
	r = clitest.Run(t, binary, root, snap.Stdout, "plan", "-f", "-", "--cluster", ns+"/c", "--to", "v1.36.3", "--feature-gates", "InPlaceUpdates=true,RuntimeSDK=true")
	if r.Code != 0 || strings.Count(r.Stdout, "[PatchesNotEvaluated]") != 3 || !strings.Contains(r.Stdout, `patch "remote-etcd" is external`) {
		t.Errorf("offline: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}
