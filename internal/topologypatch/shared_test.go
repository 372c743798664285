package topologypatch

import (
	"context"
	"slices"
	"testing"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/state"
)

func TestVariableReads(t *testing.T) {
	patch := func(enabledIf string, values ...clusterv1.JSONPatchValue) *clusterv1.ClusterClass {
		cc := &clusterv1.ClusterClass{}
		p := clusterv1.ClusterClassPatch{Name: "p", EnabledIf: enabledIf, Definitions: []clusterv1.PatchDefinition{{}}}
		for i := range values {
			p.Definitions[0].JSONPatches = append(p.Definitions[0].JSONPatches, clusterv1.JSONPatch{Op: "add", Path: "/spec", ValueFrom: &values[i]})
		}
		cc.Spec.Patches = []clusterv1.ClusterClassPatch{p}
		return cc
	}
	for _, tc := range []struct {
		name string
		cc   *clusterv1.ClusterClass
		want []string // nil: not shareable
	}{
		{"fixture patches", func() *clusterv1.ClusterClass {
			objs := fleet.ClusterClass(fleet.ClassSpec{Namespace: "ns", Name: "c", Patches: true})
			return objs[0].(*clusterv1.ClusterClass)
		}(), []string{"builtin.controlPlane.version"}},
		{"variable and enabledIf", patch(`{{ if .enabled }}true{{ end }}`, clusterv1.JSONPatchValue{Variable: "image.repository"},
			clusterv1.JSONPatchValue{Template: `{{ $.builtin.cluster.name }}-{{ .builtin.machineDeployment.version | replace "." "-" }}`}),
			[]string{"builtin.cluster.name", "builtin.machineDeployment.version", "enabled", "image.repository"}},
		{"whole context", patch("", clusterv1.JSONPatchValue{Template: `{{ toJson . }}`}), nil},
		{"whole builtin through $", patch("", clusterv1.JSONPatchValue{Template: `{{ toJson $ }}`}), nil},
		{"with", patch("", clusterv1.JSONPatchValue{Template: `{{ with .builtin }}{{ .cluster.name }}{{ end }}`}), nil},
		{"range", patch("", clusterv1.JSONPatchValue{Template: `{{ range .list }}{{ . }}{{ end }}`}), nil},
		{"template variable", patch("", clusterv1.JSONPatchValue{Template: `{{ $v := .builtin }}{{ $v.cluster.name }}`}), nil},
		{"index", patch("", clusterv1.JSONPatchValue{Template: `{{ index . "builtin" }}`}), nil},
		{"external", &clusterv1.ClusterClass{Spec: clusterv1.ClusterClassSpec{Patches: []clusterv1.ClusterClassPatch{{Name: "x", External: &clusterv1.ExternalPatchDefinition{GeneratePatchesExtension: "g"}}}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := variableReads(tc.cc)
			if (got == nil) != (tc.want == nil) || !slices.Equal(got, tc.want) {
				t.Errorf("variableReads = %q, want %q", got, tc.want)
			}
		})
	}
}

// Clusters of one ClusterClass share control plane evaluations only when the
// variables the patches read have the same values, and shared results equal
// evaluating each Cluster on its own.
func TestSharedEvaluations(t *testing.T) {
	build := func(nameTemplate bool) (*state.State, *clusterv1.ClusterClass) {
		objs := fleet.ClusterClass(fleet.ClassSpec{Namespace: "ns", Name: "class", Patches: true})
		cc := objs[0].(*clusterv1.ClusterClass)
		if nameTemplate {
			// A file whose content names the Cluster: not shareable between Clusters.
			cc.Spec.Patches[0].Definitions[0].JSONPatches[1].ValueFrom.Template = "- path: /etc/cluster\n  content: {{ .builtin.cluster.name }}-{{ .builtin.controlPlane.version }}"
		}
		for _, name := range []string{"a", "b"} {
			objs = append(objs, fleet.Cluster(fleet.ClusterSpec{Namespace: "ns", Name: name, Class: "class", ControlPlaneVersion: "v1.33.4", Replicas: 3, ClassPatches: true})...)
		}
		st := &state.State{}
		for _, o := range objs {
			if err := st.Add(o); err != nil {
				t.Fatal(err)
			}
		}
		return st, st.ClusterClasses[0]
	}
	ctx := context.Background()
	v := Versions{Topology: "v1.36.3", ControlPlane: "v1.34.3"}
	for _, nameTemplate := range []bool{false, true} {
		st, cc := build(nameTemplate)
		shared := NewShared()
		for _, c := range st.Clusters {
			ev, err := New(st, c, cc, nil, shared)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ev.At(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			alone, _ := New(st, c, cc, nil, nil)
			want, err := alone.At(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			gotSpec, wantSpec := got.ControlPlane.Object.Object["spec"].(map[string]any), want.ControlPlane.Object.Object["spec"].(map[string]any)
			if !equalJSON(t, gotSpec["kubeadmConfigSpec"], wantSpec["kubeadmConfigSpec"]) ||
				!equalJSON(t, got.ControlPlane.InfrastructureMachineTemplate.Object["spec"], want.ControlPlane.InfrastructureMachineTemplate.Object["spec"]) {
				t.Errorf("name template %t, Cluster %s: shared %s, alone %s", nameTemplate, c.Name, fmtJSON(t, gotSpec["kubeadmConfigSpec"]), fmtJSON(t, wantSpec["kubeadmConfigSpec"]))
			}
		}
		if n := len(shared.results); (nameTemplate && n != 2) || (!nameTemplate && n != 1) {
			t.Errorf("name template %t: %d shared results", nameTemplate, n)
		}
	}
}
