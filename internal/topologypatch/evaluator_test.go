package topologypatch

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/state"
)

func fixture(t *testing.T, mutate func(*clusterv1.ClusterClass)) (*state.State, *clusterv1.Cluster, *clusterv1.ClusterClass) {
	t.Helper()
	objs := fleet.ClusterClass(fleet.ClassSpec{Namespace: "ns", Name: "class", Patches: true})
	objs = append(objs, fleet.Cluster(fleet.ClusterSpec{Namespace: "ns", Name: "c", Class: "class", ControlPlaneVersion: "v1.33.4", Replicas: 3, ClassPatches: true,
		Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 2}}})...)
	st := &state.State{}
	for _, o := range objs {
		if err := st.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	cc := st.ClusterClasses[0]
	if mutate != nil {
		mutate(cc)
	}
	return st, st.Clusters[0], cc
}

func TestControlPlaneChange(t *testing.T) {
	st, cluster, cc := fixture(t, nil)
	ev, err := New(st, cluster, cc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := func(topology, cp string) *unstructured.Unstructured {
		s, err := ev.At(ctx, Versions{Topology: topology, ControlPlane: cp})
		if err != nil {
			t.Fatal(err)
		}
		return s.ControlPlane.Object
	}
	// At the current versions the patches produce what the control plane has.
	current := st.ControlPlane(cluster)
	for _, f := range [][]string{{"spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd"}, {"spec", "kubeadmConfigSpec", "files"}, {"spec", "version"}} {
		want, _, _ := unstructured.NestedFieldNoCopy(current.Object, f...)
		got, _, _ := unstructured.NestedFieldNoCopy(at("v1.33.4", "v1.33.4").Object, f...)
		if !equalJSON(t, want, got) {
			t.Errorf("%s at the current version: got %v, want %v", strings.Join(f, "."), got, want)
		}
	}
	tag, _, _ := unstructured.NestedString(at("v1.36.3", "v1.35.2").Object, "spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd", "local", "imageTag")
	if tag != fleet.EtcdImageTag("v1.35.2") {
		t.Errorf("etcd image tag at v1.35.2: %q", tag)
	}

	before, _ := ev.At(ctx, Versions{Topology: "v1.33.4", ControlPlane: "v1.33.4", MachineDeployments: map[string]string{}})
	after, _ := ev.At(ctx, Versions{Topology: "v1.36.3", ControlPlane: "v1.34.3", MachineDeployments: map[string]string{}})
	change, err := ControlPlaneChange(before, after)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kubeadmConfig.spec.clusterConfiguration.etcd.local.imageTag", "kubeadmConfig.spec.files"}
	if !slices.Equal(change.Differences, want) || change.KubeadmConfigSpec == nil || change.Infrastructure != nil {
		t.Errorf("change = %+v (patch %s), want differences %v", change, change.KubeadmConfigSpec, want)
	}
	md, err := MachineDeploymentChange(before, after, "md-0")
	if err != nil || len(md.Differences) != 0 {
		t.Errorf("the MachineDeployment changes with the control plane patches: %+v, %v", md, err)
	}
}

func TestMachineDeploymentImagePatch(t *testing.T) {
	st, cluster, cc := fixture(t, func(cc *clusterv1.ClusterClass) {
		cc.Spec.Patches = []clusterv1.ClusterClassPatch{workerImagePatch}
	})
	ev, err := New(st, cluster, cc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := ev.At(ctx, Versions{Topology: "v1.36.3", ControlPlane: "v1.33.4", MachineDeployments: map[string]string{"c-md-0": "v1.33.4"}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := ev.At(ctx, Versions{Topology: "v1.36.3", ControlPlane: "v1.33.4", MachineDeployments: map[string]string{"c-md-0": "v1.36.3"}})
	if err != nil {
		t.Fatal(err)
	}
	change, err := MachineDeploymentChange(before, after, "md-0")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(change.Differences, []string{"infrastructureMachine.spec.customImage"}) || string(change.Infrastructure) != `{"customImage":"kindest/node:v1.36.3"}` {
		t.Errorf("change = %v, patch %s", change.Differences, change.Infrastructure)
	}
	if cp, _ := ControlPlaneChange(before, after); len(cp.Differences) != 0 {
		t.Errorf("the control plane changes with a worker patch: %v", cp.Differences)
	}
}

func TestNotEvaluable(t *testing.T) {
	st, cluster, cc := fixture(t, func(cc *clusterv1.ClusterClass) {
		cc.Spec.Patches = append(cc.Spec.Patches, clusterv1.ClusterClassPatch{Name: "remote", External: &clusterv1.ExternalPatchDefinition{GeneratePatchesExtension: "gen.ext"}})
	})
	if _, err := New(st, cluster, cc, nil, nil); err == nil || !strings.Contains(err.Error(), `patch "remote" is external`) {
		t.Errorf("external patch offline: %v", err)
	}
	st, cluster, cc = fixture(t, func(cc *clusterv1.ClusterClass) { cc.Spec.ControlPlane.TemplateRef.Name = "missing" })
	if _, err := New(st, cluster, cc, nil, nil); err == nil || !strings.Contains(err.Error(), "KubeadmControlPlaneTemplate missing (spec.controlPlane.templateRef) is not in the input") {
		t.Errorf("missing template: %v", err)
	}
	st, cluster, cc = fixture(t, func(cc *clusterv1.ClusterClass) {
		cc.Spec.Patches[0].Definitions[0].JSONPatches[0].ValueFrom.Template = "{{ fail \"no image for this version\" }}"
	})
	ev, err := New(st, cluster, cc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.At(context.Background(), Versions{Topology: "v1.36.3", ControlPlane: "v1.34.3"}); err == nil || !strings.Contains(err.Error(), "ClusterClass ns/class") {
		t.Errorf("broken template: %v", err)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return fmtJSON(t, a) == fmtJSON(t, b)
}

func fmtJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// workerImagePatch sets the workers' image from builtin.machineDeployment.version.
var workerImagePatch = clusterv1.ClusterClassPatch{Name: "worker-image", Definitions: []clusterv1.PatchDefinition{{
	Selector: clusterv1.PatchSelector{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta2", Kind: "DockerMachineTemplate",
		MatchResources: clusterv1.PatchSelectorMatch{MachineDeploymentClass: &clusterv1.PatchSelectorMatchMachineDeploymentClass{Names: []string{"default-worker"}}}},
	JSONPatches: []clusterv1.JSONPatch{{Op: "add", Path: "/spec/template/spec/customImage", ValueFrom: &clusterv1.JSONPatchValue{Template: "kindest/node:{{ .builtin.machineDeployment.version }}"}}},
}}}

func TestTouchesAndTrimming(t *testing.T) {
	st, cluster, cc := fixture(t, nil)
	ev, err := New(st, cluster, cc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Touches("KubeadmControlPlane") || ev.Touches("MachineDeployment") {
		t.Errorf("control plane patches: touches control plane %t, MachineDeployments %t", ev.Touches("KubeadmControlPlane"), ev.Touches("MachineDeployment"))
	}
	// Without MachineDeployments the control plane comes out the same.
	ctx := context.Background()
	all, err := ev.At(ctx, Versions{Topology: "v1.36.3", ControlPlane: "v1.35.2", MachineDeployments: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	trimmed, err := ev.At(ctx, Versions{Topology: "v1.36.3", ControlPlane: "v1.35.2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(trimmed.MachineDeployments) != 0 || len(all.MachineDeployments) != 1 || !equalJSON(t, all.ControlPlane.Object.Object, trimmed.ControlPlane.Object.Object) {
		t.Errorf("trimmed evaluation differs: %d/%d MachineDeployments", len(trimmed.MachineDeployments), len(all.MachineDeployments))
	}
	st, cluster, cc = fixture(t, func(cc *clusterv1.ClusterClass) { cc.Spec.Patches = []clusterv1.ClusterClassPatch{workerImagePatch} })
	if ev, _ = New(st, cluster, cc, nil, nil); ev.Touches("KubeadmControlPlane") || !ev.Touches("MachineDeployment") {
		t.Error("a worker patch touches the control plane, or not the MachineDeployments")
	}
}

func TestDrift(t *testing.T) {
	st, cluster, cc := fixture(t, nil)
	ev, err := New(st, cluster, cc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ev.Drift(context.Background())
	if err != nil || len(d.ControlPlane) != 0 || len(d.MachineDeployments) != 0 {
		t.Fatalf("a Cluster as the topology controller left it drifts: %+v, %v", d, err)
	}
	// The ClusterClass's templates changed since: the objects do not carry it yet.
	for _, tmpl := range st.Templates {
		switch {
		case tmpl.GetKind() == "KubeadmControlPlaneTemplate":
			_ = unstructured.SetNestedField(tmpl.Object, "v=2", "spec", "template", "spec", "kubeadmConfigSpec", "clusterConfiguration", "apiServer", "extraArgs")
		case tmpl.GetName() == "class-default-worker" && tmpl.GetKind() == "DockerMachineTemplate":
			_ = unstructured.SetNestedField(tmpl.Object, "kindest/node:v1.33.4", "spec", "template", "spec", "customImage")
		}
	}
	ev, err = New(st, cluster, cc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err = ev.Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.ControlPlane, []string{"kubeadmConfig.spec.clusterConfiguration.apiServer.extraArgs"}) ||
		!slices.Equal(d.MachineDeployments["c-md-0"], []string{"infrastructureMachine.spec.customImage"}) {
		t.Errorf("drift = %+v", d)
	}
}

func TestDriftWithoutPatches(t *testing.T) {
	st, cluster, cc := fixture(t, func(cc *clusterv1.ClusterClass) { cc.Spec.Patches = nil })
	for _, tmpl := range st.Templates {
		if tmpl.GetKind() == "KubeadmControlPlaneTemplate" {
			_ = unstructured.SetNestedField(tmpl.Object, "v=2", "spec", "template", "spec", "kubeadmConfigSpec", "clusterConfiguration", "apiServer", "extraArgs")
		}
	}
	ev, err := New(st, cluster, cc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ev.Drift(context.Background())
	// The fixture's control plane carries the etcd image and file of the patches it
	// no longer has: not drift (server-side apply leaves them), the extraArgs are.
	if err != nil || !slices.Equal(d.ControlPlane, []string{"kubeadmConfig.spec.clusterConfiguration.apiServer.extraArgs"}) {
		t.Errorf("drift = %+v, %v", d, err)
	}
}
