package integration

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	kcpdesiredstate "sigs.k8s.io/cluster-api/controlplane/kubeadm/pkg/desiredstate"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/state"
)

// inPlaceExtension answers CanUpdateMachineSet over real TLS: "version-only"
// covers spec.version only, "everything" covers every difference, "failing" fails.
//
// Like CAPI's runtime server, it answers only at
// /<variant>/hooks.runtime.cluster.x-k8s.io/v1alpha1/<hook>/<handler>, where
// handler is the handler's own name (not its registered <handler>.<ExtensionConfig>
// name), and 404 elsewhere.
func inPlaceExtension(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 5 || parts[1] != "hooks.runtime.cluster.x-k8s.io" || parts[2] != "v1alpha1" {
		http.NotFound(w, r)
		return
	}
	switch hook, handler := parts[3], parts[4]; {
	case hook == "canupdatemachine" && handler == fleet.HandlerName("CanUpdateMachine"):
		canUpdateMachine(w, r)
		return
	case hook == "canupdatemachineset" && handler == fleet.HandlerName("CanUpdateMachineSet"):
	default:
		http.Error(w, fmt.Sprintf("no handler %q for hook %q", handler, hook), http.StatusNotFound)
		return
	}
	req := runtimehooksv1.CanUpdateMachineSetRequest{}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := runtimehooksv1.CanUpdateMachineSetResponse{}
	resp.Status = runtimehooksv1.ResponseStatusSuccess
	desired := req.Desired.MachineSet.Spec.Template.Spec
	switch strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0] {
	case "version-only", "etcd-and-files":
		resp.MachineSetPatch = runtimehooksv1.Patch{PatchType: runtimehooksv1.JSONPatchType,
			Patch: fmt.Appendf(nil, `[{"op":"replace","path":"/spec/template/spec/version","value":%q}]`, desired.Version)}
	case "everything":
		spec, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": desired}}})
		resp.MachineSetPatch = runtimehooksv1.Patch{PatchType: runtimehooksv1.JSONMergePatchType, Patch: spec}
		resp.InfrastructureMachineTemplatePatch = replaceSpec(req.Desired.InfrastructureMachineTemplate.Raw)
		resp.BootstrapConfigTemplatePatch = replaceSpec(req.Desired.BootstrapConfigTemplate.Raw)
		recordImage(req.Desired.InfrastructureMachineTemplate.Raw, "spec", "template", "spec", "customImage")
	case "failing":
		resp.Status, resp.Message = runtimehooksv1.ResponseStatusFailure, "cannot tell"
	}
	_ = json.NewEncoder(w).Encode(&resp)
}

// askedEtcdTags records the desired etcd image tags CanUpdateMachine requests carried,
// askedImages the desired images of InfraMachines and InfraMachineTemplates,
// askedMachines the spec of each current Machine asked about, by namespace/name.
var askedEtcdTags, askedImages, askedMachines sync.Map

func recordImage(raw []byte, path ...string) {
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		if image, ok, _ := unstructured.NestedString(obj, path...); ok {
			askedImages.Store(image, true)
		}
	}
}

// replaceSpec makes the current object's spec the desired one (fields removed included).
func replaceSpec(raw []byte) runtimehooksv1.Patch {
	var obj map[string]any
	_ = json.Unmarshal(raw, &obj)
	patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec", "value": obj["spec"]}})
	return runtimehooksv1.Patch{PatchType: runtimehooksv1.JSONPatchType, Patch: patch}
}

// canUpdateMachine answers CanUpdateMachine like inPlaceExtension answers CanUpdateMachineSet.
func canUpdateMachine(w http.ResponseWriter, r *http.Request) {
	req := runtimehooksv1.CanUpdateMachineRequest{}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := runtimehooksv1.CanUpdateMachineResponse{}
	resp.Status = runtimehooksv1.ResponseStatusSuccess
	m := req.Current.Machine
	askedMachines.Store(m.Namespace+"/"+m.Name, m.Spec)
	switch strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0] {
	case "version-only":
		resp.MachinePatch = runtimehooksv1.Patch{PatchType: runtimehooksv1.JSONPatchType,
			Patch: fmt.Appendf(nil, `[{"op":"replace","path":"/spec/version","value":%q}]`, req.Desired.Machine.Spec.Version)}
	case "etcd-and-files":
		// The Done-when extension: the version, the etcd image tag and files, nothing else.
		var desired map[string]any
		_ = json.Unmarshal(req.Desired.BootstrapConfig.Raw, &desired)
		spec, _ := desired["spec"].(map[string]any)
		etcd, _, _ := unstructured.NestedFieldCopy(spec, "clusterConfiguration", "etcd")
		tag, _, _ := unstructured.NestedString(spec, "clusterConfiguration", "etcd", "local", "imageTag")
		askedEtcdTags.Store(tag, true)
		ops, _ := json.Marshal([]map[string]any{
			{"op": "add", "path": "/spec/clusterConfiguration/etcd", "value": etcd},
			{"op": "add", "path": "/spec/files", "value": spec["files"]},
		})
		resp.MachinePatch = runtimehooksv1.Patch{PatchType: runtimehooksv1.JSONPatchType,
			Patch: fmt.Appendf(nil, `[{"op":"replace","path":"/spec/version","value":%q}]`, req.Desired.Machine.Spec.Version)}
		resp.BootstrapConfigPatch = runtimehooksv1.Patch{PatchType: runtimehooksv1.JSONPatchType, Patch: ops}
	case "everything":
		machine, _ := json.Marshal(req.Desired.Machine)
		resp.MachinePatch = replaceSpec(machine)
		resp.BootstrapConfigPatch = replaceSpec(req.Desired.BootstrapConfig.Raw)
		resp.InfrastructureMachinePatch = replaceSpec(req.Desired.InfrastructureMachine.Raw)
		recordImage(req.Desired.InfrastructureMachine.Raw, "spec", "customImage")
	case "failing":
		resp.Status, resp.Message = runtimehooksv1.ResponseStatusFailure, "cannot tell"
	}
	_ = json.NewEncoder(w).Encode(&resp)
}

// controlPlaneMachineObjects are the KubeadmConfigs and DockerMachines of a
// Cluster's control plane Machines, computed with CAPI's own desired-state code
// as KubeadmControlPlane would have created them.
func controlPlaneMachineObjects(t *testing.T, objs fleet.Objects) []ctrlclient.Object {
	t.Helper()
	var cluster *clusterv1.Cluster
	var kcp *controlplanev1.KubeadmControlPlane
	var template *unstructured.Unstructured
	for _, o := range objs {
		switch x := o.(type) {
		case *clusterv1.Cluster:
			cluster = x
		case *controlplanev1.KubeadmControlPlane:
			kcp = x
		case *unstructured.Unstructured:
			if x.GetKind() == "DockerMachineTemplate" && x.GetName() == kcp.Spec.MachineTemplate.Spec.InfrastructureRef.Name {
				template = x
			}
		}
	}
	var out []ctrlclient.Object
	for _, o := range objs {
		m, ok := o.(*clusterv1.Machine)
		if !ok || m.Labels[clusterv1.MachineControlPlaneNameLabel] == "" {
			continue
		}
		kc, err := kcpdesiredstate.ComputeDesiredKubeadmConfig(kcp, cluster, true, m.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		kc.OwnerReferences = nil
		dm := &unstructured.Unstructured{Object: map[string]any{"spec": template.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"]}}
		dm.SetAPIVersion("infrastructure.cluster.x-k8s.io/v1beta2")
		dm.SetKind("DockerMachine")
		dm.SetNamespace(m.Namespace)
		dm.SetName(m.Name)
		dm.SetLabels(map[string]string{clusterv1.ClusterNameLabel: cluster.Name, clusterv1.MachineControlPlaneLabel: ""})
		dm.SetAnnotations(map[string]string{
			clusterv1.TemplateClonedFromNameAnnotation:      template.GetName(),
			clusterv1.TemplateClonedFromGroupKindAnnotation: "DockerMachineTemplate.infrastructure.cluster.x-k8s.io",
		})
		out = append(out, kc, dm)
	}
	return out
}

// With --ask-extensions, verdicts are confirmed by the extension.
func TestAskInPlaceExtensions(t *testing.T) {
	server := httptest.NewTLSServer(http.HandlerFunc(inPlaceExtension))
	defer server.Close()
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	st := &state.State{}
	var objs fleet.Objects
	var machineObjects []ctrlclient.Object
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
		machineObjects = append(machineObjects, controlPlaneMachineObjects(t, cluster)...)
	}
	for _, o := range objs {
		if err := st.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := create(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	for _, o := range machineObjects {
		if err := client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	predictions := func(ns string) (controlPlane, workers map[string]any) {
		r := capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--cluster", ns+"/c", "--to", "v1.36.3", "--ask-extensions", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("%s: exit %d\n%s", ns, r.Code, r.Stderr)
		}
		doc := planJSON(t, r)
		steps := doc["clusters"].([]any)[0].(map[string]any)["steps"].([]any)
		change := func(i int) map[string]any {
			return steps[i].(map[string]any)["changes"].([]any)[0].(map[string]any)["prediction"].(map[string]any)
		}
		return change(0), change(len(steps) - 1)
	}
	// v1.35.2 -> v1.36.3: the KubeadmConfig loses ControlPlaneKubeletLocalMode; the
	// MachineDeployment also carries a pending failureDomain change.
	cp, md := predictions("ip-version-only")
	if cp["basis"] != "Confirmed" || cp["verdict"] != "Rollout" || !strings.Contains(fmt.Sprint(cp["notCovered"]), "kubeadmConfig.spec.clusterConfiguration.featureGates") {
		t.Errorf("version-only extension, control plane: %v", cp)
	}
	if md["basis"] != "Confirmed" || md["verdict"] != "Rollout" || !strings.Contains(fmt.Sprint(md["notCovered"]), "spec.failureDomain") {
		t.Errorf("version-only extension, workers: %v", md)
	}
	cp, md = predictions("ip-everything")
	if cp["basis"] != "Confirmed" || cp["verdict"] != "Mixed" || cp["rule"] != "InPlaceUpdate" {
		t.Errorf("everything extension, control plane: %v", cp)
	}
	if md["basis"] != "Confirmed" || md["verdict"] != "Mixed" || md["rule"] != "InPlaceUpdate" {
		t.Errorf("everything extension, workers: %v", md)
	}
	cp, md = predictions("ip-failing")
	for _, p := range []map[string]any{cp, md} {
		if p["basis"] != "Assumed" || !strings.Contains(fmt.Sprint(p["reasons"]), "asking the extension failed") || !strings.Contains(fmt.Sprint(p["reasons"]), "cannot tell") ||
			!strings.Contains(fmt.Sprint(p["askFailed"]), "cannot tell") {
			t.Errorf("failing extension: %v", p)
		}
	}
	// A failed ask is loud: a warning on stderr for every change asked about, and
	// the table and Markdown say the verdict is assumed because the call failed.
	for _, format := range []string{"table", "markdown"} {
		r := capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--cluster", "ip-failing/c", "--to", "v1.36.3", "--ask-extensions", "-o", format)
		if r.Code != 0 || strings.Count(r.Stderr, "--ask-extensions got no answer") < 2 || !strings.Contains(r.Stderr, "cannot tell") ||
			!strings.Contains(r.Stdout, "(assumed: asking the extension failed)") {
			t.Errorf("%s: a failed ask is not loud: exit %d\n%s\n%s", format, r.Code, r.Stderr, r.Stdout)
		}
	}
	// As a user with the reader role only, asking about the control plane is forbidden:
	// the verdict falls back to the assumption; with config/rbac/ask-extensions.yaml it is confirmed.
	reader := userKubeconfig(t, "reader-only", readerRole(t))
	both := readerRole(t)
	both.Rules = append(both.Rules, readRole(t, "ask-extensions.yaml").Rules...)
	asker := userKubeconfig(t, "asker", both)
	for kubeconfig, want := range map[string]string{reader: "Assumed", asker: "Confirmed"} {
		r := capiPlanner(t, "plan", "--kubeconfig", kubeconfig, "--cluster", "ip-everything/c", "--to", "v1.36.3", "--ask-extensions", "-o", "json")
		steps := planJSON(t, r)["clusters"].([]any)[0].(map[string]any)["steps"].([]any)
		p := steps[0].(map[string]any)["changes"].([]any)[0].(map[string]any)["prediction"].(map[string]any)
		if p["basis"] != want {
			t.Errorf("control plane asked as %s: %v", filepath.Base(kubeconfig), p)
		}
	}

	// Offline, --ask-extensions is refused.
	if r := capiPlanner(t, "plan", "-f", "fixtures", "--ask-extensions"); r.Code != 1 || !strings.Contains(r.Stderr, "--ask-extensions calls the extensions of a live management cluster") {
		t.Errorf("offline: %d %s", r.Code, r.Stderr)
	}
}

// The Done-when example, asked: ClusterClass patches change the control plane's
// etcd image tag and a file at every step; the extension covers the version, the
// etcd image tag and files. Steps v1.34.3 and v1.35.2 are confirmed in place
// (1 created, 2 in place, 1 deleted); v1.36.3 replaces all 3 (the kubeadm feature
// gate change is not covered); the workers go once, 1/1/1.
func TestAskInPlaceExtensionDoneWhen(t *testing.T) {
	server := httptest.NewTLSServer(http.HandlerFunc(inPlaceExtension))
	defer server.Close()
	got := askDoneWhen(t, server, "ip-done-when", nil)
	want := []string{
		"Confirmed InPlaceUpdate Mixed 1/2/1 <nil>",
		"Confirmed InPlaceUpdate Mixed 1/2/1 <nil>",
		"Confirmed ChangeNotCovered Rollout 3/0/3 [kubeadmConfig.spec.clusterConfiguration.featureGates]",
		"Confirmed InPlaceUpdate Mixed 1/1/1 <nil>",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("predictions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Every control plane Machine is asked about: two whose KubeadmConfigs drifted
	// (a command the extension does not handle) are replaced, the third is updated in place.
	drifted := 0
	got = askDoneWhen(t, server, "ip-drift", func(o ctrlclient.Object) {
		if kc, ok := o.(*bootstrapv1.KubeadmConfig); ok && drifted < 2 {
			kc.Spec.PreKubeadmCommands = []string{"echo drift"}
			drifted++
		}
	})
	if want := "Confirmed InPlaceUpdate Mixed 2/1/2 [kubeadmConfig.spec.preKubeadmCommands]"; got[0] != want {
		t.Errorf("drifted Machines: %s, want %s", got[0], want)
	}
	// The requests carried what the ClusterClass patches change at each step.
	for _, v := range []string{"v1.34.3", "v1.35.2", "v1.36.3"} {
		if _, ok := askedEtcdTags.Load(fleet.EtcdImageTag(v)); !ok {
			t.Errorf("no CanUpdateMachine request carried the etcd image tag of %s (%s)", v, fleet.EtcdImageTag(v))
		}
	}
}

// askDoneWhen creates the Done-when example in namespace ns, its control plane
// Machines' objects changed by mutate, and plans it with --ask-extensions against
// the etcd-and-files extension: "basis rule verdict created/inPlace/deleted notCovered" per step.
func askDoneWhen(t *testing.T, server *httptest.Server, ns string, mutate func(ctrlclient.Object)) []string {
	t.Helper()
	return askWithPatches(t, server, ns, "etcd-and-files", nil, mutate)
}

// askWithPatches is askDoneWhen against the extension handler, with more ClusterClass patches.
func askWithPatches(t *testing.T, server *httptest.Server, ns, handler string, more []clusterv1.ClusterClassPatch, mutate func(ctrlclient.Object)) []string {
	t.Helper()
	ec := fleet.ExtensionConfig(fleet.ExtensionSpec{Name: ns, URL: server.URL + "/" + handler, NamespaceSelector: map[string]string{"ipext": ns},
		Hooks: []string{"CanUpdateMachine", "CanUpdateMachineSet", "UpdateMachine"}})
	ec.Spec.ClientConfig.CABundle = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	objs := fleet.Objects{fleet.Namespace(ns, map[string]string{"ipext": ns}), ec}
	class := fleet.ClusterClass(fleet.ClassSpec{Namespace: ns, Name: "class", Versions: []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3"}, Patches: true})
	cc := class[0].(*clusterv1.ClusterClass)
	cc.Spec.Patches = append(cc.Spec.Patches, more...)
	objs = append(objs, class...)
	cluster := fleet.Cluster(fleet.ClusterSpec{Namespace: ns, Name: "c", Class: "class", ControlPlaneVersion: "v1.33.4", Replicas: 3, ClassPatches: true,
		Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 2}}})
	objs = append(objs, cluster...)
	st := &state.State{}
	for _, o := range objs {
		if err := st.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := create(ctx, st); err != nil {
		t.Fatal(err)
	}
	for _, o := range controlPlaneMachineObjects(t, cluster) {
		if mutate != nil {
			mutate(o)
		}
		if err := client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	r := capiPlanner(t, "plan", "--kubeconfig", adminKubeconfig, "--cluster", ns+"/c", "--to", "v1.36.3", "--ask-extensions", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	checkAskedMachinesExist(t, ns)
	var got []string
	for _, s := range planJSON(t, r)["clusters"].([]any)[0].(map[string]any)["steps"].([]any) {
		p := s.(map[string]any)["changes"].([]any)[0].(map[string]any)["prediction"].(map[string]any)
		m := p["machines"].(map[string]any)
		got = append(got, fmt.Sprintf("%s %s %s %v/%v/%v %v", p["basis"], p["rule"], p["verdict"], m["created"], m["updatedInPlace"], m["deleted"], p["notCovered"]))
	}
	return got
}

// imagePatch sets the image of the control plane's or the workers' InfraMachines
// from their version builtin: every step rotates their InfraMachineTemplate.
func imagePatch(controlPlane bool) clusterv1.ClusterClassPatch {
	sel := clusterv1.PatchSelector{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta2", Kind: "DockerMachineTemplate"}
	builtin := "machineDeployment"
	if controlPlane {
		sel.MatchResources.ControlPlane = ptr.To(true)
		builtin = "controlPlane"
	} else {
		sel.MatchResources.MachineDeploymentClass = &clusterv1.PatchSelectorMatchMachineDeploymentClass{Names: []string{"default-worker"}}
	}
	return clusterv1.ClusterClassPatch{Name: builtin + "-image", Definitions: []clusterv1.PatchDefinition{{Selector: sel,
		JSONPatches: []clusterv1.JSONPatch{{Op: "add", Path: "/spec/template/spec/customImage", ValueFrom: &clusterv1.JSONPatchValue{Template: "kindest/node:{{ .builtin." + builtin + ".version }}"}}}}}}
}

// Templates ClusterClass patches rotate at a step are asked about as the topology
// controller will create them: the rotated InfraMachineTemplate for CanUpdateMachineSet,
// the InfraMachine KCP computes from it for CanUpdateMachine.
func TestAskWithRotatedTemplates(t *testing.T) {
	server := httptest.NewTLSServer(http.HandlerFunc(inPlaceExtension))
	defer server.Close()
	patches := []clusterv1.ClusterClassPatch{imagePatch(true), imagePatch(false)}
	got := askWithPatches(t, server, "ip-rotate-all", "everything", patches, nil)
	want := []string{
		"Confirmed InPlaceUpdate Mixed 1/2/1 <nil>",
		"Confirmed InPlaceUpdate Mixed 1/2/1 <nil>",
		"Confirmed InPlaceUpdate Mixed 1/2/1 <nil>",
		"Confirmed InPlaceUpdate Mixed 1/1/1 <nil>",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("an extension covering everything:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, v := range []string{"v1.34.3", "v1.35.2", "v1.36.3"} {
		if _, ok := askedImages.Load("kindest/node:" + v); !ok {
			t.Errorf("no request carried the image of %s", v)
		}
	}
	got = askWithPatches(t, server, "ip-rotate-some", "etcd-and-files", patches, nil)
	for i, g := range got {
		if !strings.Contains(g, "Confirmed ChangeNotCovered Rollout") || !strings.Contains(g, "infrastructureMachine.spec.customImage") {
			t.Errorf("step %d, an extension not covering the image: %s", i+1, g)
		}
	}
}

// checkAskedMachinesExist checks that CanUpdateMachine was asked about the
// control plane Machines that exist in namespace ns, each of them, as they
// are (the same spec; KCP's request carries no uid), and about no other.
func checkAskedMachinesExist(t *testing.T, ns string) {
	t.Helper()
	list := &clusterv1.MachineList{}
	if err := client.List(context.Background(), list, ctrlclient.InNamespace(ns), ctrlclient.HasLabels{clusterv1.MachineControlPlaneLabel}); err != nil {
		t.Fatal(err)
	}
	want := map[string]clusterv1.MachineSpec{}
	for _, m := range list.Items {
		want[ns+"/"+m.Name] = m.Spec
	}
	got := map[string]clusterv1.MachineSpec{}
	askedMachines.Range(func(k, v any) bool {
		if strings.HasPrefix(k.(string), ns+"/") {
			got[k.(string)] = v.(clusterv1.MachineSpec)
		}
		return true
	})
	if len(want) == 0 || !apiequality.Semantic.DeepEqual(got, want) {
		t.Errorf("CanUpdateMachine asked about the Machines %v; the control plane Machines are %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		for k, w := range want {
			if g, ok := got[k]; ok && !apiequality.Semantic.DeepEqual(g, w) {
				t.Errorf("Machine %s: asked about with spec %+v, it is %+v", k, g, w)
			}
		}
	}
}
