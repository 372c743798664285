package integration

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/internal/state"
)

// inPlaceExtension answers CanUpdateMachineSet over real TLS: "version-only"
// covers spec.version only, "everything" covers every difference, "failing" fails.
func inPlaceExtension(w http.ResponseWriter, r *http.Request) {
	req := runtimehooksv1.CanUpdateMachineSetRequest{}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := runtimehooksv1.CanUpdateMachineSetResponse{}
	resp.Status = runtimehooksv1.ResponseStatusSuccess
	desired := req.Desired.MachineSet.Spec.Template.Spec
	switch strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0] {
	case "version-only":
		resp.MachineSetPatch = runtimehooksv1.Patch{PatchType: runtimehooksv1.JSONPatchType,
			Patch: fmt.Appendf(nil, `[{"op":"replace","path":"/spec/template/spec/version","value":%q}]`, desired.Version)}
	case "everything":
		spec, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": desired}}})
		resp.MachineSetPatch = runtimehooksv1.Patch{PatchType: runtimehooksv1.JSONMergePatchType, Patch: spec}
	case "failing":
		resp.Status, resp.Message = runtimehooksv1.ResponseStatusFailure, "cannot tell"
	}
	_ = json.NewEncoder(w).Encode(&resp)
}

// With --ask-extensions, MachineDeployment verdicts are confirmed by the extension.
func TestAskInPlaceExtensions(t *testing.T) {
	server := httptest.NewTLSServer(http.HandlerFunc(inPlaceExtension))
	defer server.Close()
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	st := &state.State{}
	var objs fleet.Objects
	for _, h := range []string{"version-only", "everything", "failing"} {
		ns := "ip-" + h
		// Each ExtensionConfig has its own path on the server, which tells the handlers apart.
		ec := fleet.ExtensionConfig(fleet.ExtensionSpec{Name: ns, URL: server.URL + "/" + h, NamespaceSelector: map[string]string{"ipext": h},
			Hooks: []string{"CanUpdateMachine", "CanUpdateMachineSet", "UpdateMachine"}})
		ec.Spec.ClientConfig.CABundle = caBundle
		objs = append(objs, fleet.Namespace(ns, map[string]string{"ipext": h}), ec)
		objs = append(objs, fleet.ClusterClass(fleet.ClassSpec{Namespace: ns, Name: "class", Versions: []string{"v1.35.2", "v1.36.3"}})...)
		cluster := fleet.Cluster(fleet.ClusterSpec{Namespace: ns, Name: "c", Class: "class", ControlPlaneVersion: "v1.35.2", Replicas: 3,
			Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.35.2", Replicas: 2}}})
		for _, o := range cluster {
			// A change pending in the MachineDeployment lands with its version step.
			if md, ok := o.(*clusterv1.MachineDeployment); ok {
				md.Spec.Template.Spec.FailureDomain = "fd-b"
			}
		}
		objs = append(objs, cluster...)
	}
	for _, o := range objs {
		if err := st.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := create(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	prediction := func(ns string) map[string]any {
		r := capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--cluster", ns+"/c", "--to", "v1.36.3", "--ask-extensions", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("%s: exit %d\n%s", ns, r.Code, r.Stderr)
		}
		doc := planJSON(t, r)
		steps := doc["clusters"].([]any)[0].(map[string]any)["steps"].([]any)
		last := steps[len(steps)-1].(map[string]any)["changes"].([]any)[0].(map[string]any)
		return last["prediction"].(map[string]any)
	}
	if p := prediction("ip-version-only"); p["basis"] != "Confirmed" || p["verdict"] != "Rollout" || !strings.Contains(fmt.Sprint(p["notCovered"]), "machineSet spec.template.spec.failureDomain") {
		t.Errorf("version-only extension: %v", p)
	}
	if p := prediction("ip-everything"); p["basis"] != "Confirmed" || p["verdict"] != "Mixed" || p["rule"] != "InPlaceUpdate" {
		t.Errorf("everything extension: %v", p)
	}
	if p := prediction("ip-failing"); p["basis"] != "Assumed" || !strings.Contains(fmt.Sprint(p["reasons"]), "asking the extension failed") || !strings.Contains(fmt.Sprint(p["reasons"]), "cannot tell") {
		t.Errorf("failing extension: %v", p)
	}
	// Offline, --ask-extensions is refused.
	if r := capiPlanner(t, "plan", "-f", "fixtures", "--ask-extensions"); r.Code != 1 || !strings.Contains(r.Stderr, "--ask-extensions calls the extensions of a live management cluster") {
		t.Errorf("offline: %d %s", r.Code, r.Stderr)
	}
}
