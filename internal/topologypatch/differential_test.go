package topologypatch

import (
	"context"
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	"sigs.k8s.io/cluster-api/exp/topology/desiredstate"
	"sigs.k8s.io/cluster-api/exp/topology/scope"

	"github.com/capi-planner/capi-planner/internal/scheme"
)

// clusterCacheUnused satisfies the generator's constructor; the generator only
// uses it for MachinePools with nodes, which these Clusters do not have.
type clusterCacheUnused struct{ clustercache.ClusterCache }

// TestMatchesCAPIGenerator runs CAPI's own desired-state generator
// (exp/topology/desiredstate, the topology controller's Generate) on the
// Cluster and checks that the evaluator yields the same patched objects: at
// rest, and when spec.topology.version is raised (the generator picks the first
// control plane step; the MachineDeployment waits at its version).
func TestMatchesCAPIGenerator(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, topology, controlPlane string
	}{
		{"at rest", "v1.33.4", "v1.33.4"},
		{"upgrade triggered", "v1.36.3", "v1.34.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, cluster, cc := fixture(t, func(cc *clusterv1.ClusterClass) {
				cc.Spec.KubernetesVersions = []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3"}
				cc.Spec.Patches = append(cc.Spec.Patches, workerImagePatch)
			})
			ev, err := New(st, cluster, cc, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := ev.At(ctx, Versions{Topology: tc.topology, ControlPlane: tc.controlPlane, MachineDeployments: map[string]string{}})
			if err != nil {
				t.Fatal(err)
			}

			// CAPI's generator, on the same Cluster with spec.topology.version set.
			sch := scheme.New()
			if err := apiextensionsv1.AddToScheme(sch); err != nil {
				t.Fatal(err)
			}
			crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io",
				Labels: map[string]string{"cluster.x-k8s.io/v1beta2": "v1beta2"}}}
			builder := fake.NewClientBuilder().WithScheme(sch).WithObjects(crd)
			for _, m := range st.Machines {
				builder = builder.WithObjects(m.DeepCopy())
			}
			for _, ms := range st.MachineSets {
				builder = builder.WithObjects(ms.DeepCopy())
			}
			gen, err := desiredstate.NewGenerator(builder.Build(), clusterCacheUnused{}, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			cl := cluster.DeepCopy()
			cl.Spec.Topology.Version = tc.topology
			_, bp, err := ev.desired(Versions{Topology: tc.topology, ControlPlane: tc.controlPlane, MachineDeployments: map[string]string{}})
			if err != nil {
				t.Fatal(err)
			}
			s := scope.New(cl)
			s.Blueprint = bp
			// CAPI's current state: the objects as read, status included.
			s.Current.ControlPlane = &scope.ControlPlaneState{Object: st.ControlPlane(cluster).DeepCopy(),
				InfrastructureMachineTemplate: ev.current.ControlPlane.InfrastructureMachineTemplate.DeepCopy()}
			s.Current.InfrastructureCluster = ev.current.InfrastructureCluster.DeepCopy()
			s.Current.MachineDeployments = scope.MachineDeploymentsStateMap{}
			for name, md := range ev.current.MachineDeployments {
				i := slices.IndexFunc(st.MachineDeploymentsOf(cluster), func(m *clusterv1.MachineDeployment) bool { return m.Name == md.Object.Name })
				s.Current.MachineDeployments[name] = &scope.MachineDeploymentState{Object: st.MachineDeploymentsOf(cluster)[i].DeepCopy(),
					BootstrapTemplate: md.BootstrapTemplate.DeepCopy(), InfrastructureMachineTemplate: md.InfrastructureMachineTemplate.DeepCopy()}
			}
			capi, err := gen.Generate(ctx, s)
			if err != nil {
				t.Fatal(err)
			}

			for _, f := range []struct {
				what       string
				capi, ours *unstructured.Unstructured
				path       []string
			}{
				{"control plane version", capi.ControlPlane.Object, ours.ControlPlane.Object, []string{"spec", "version"}},
				{"KubeadmConfigSpec", capi.ControlPlane.Object, ours.ControlPlane.Object, []string{"spec", "kubeadmConfigSpec"}},
				{"control plane InfraMachineTemplate", capi.ControlPlane.InfrastructureMachineTemplate, ours.ControlPlane.InfrastructureMachineTemplate, templateSpec},
				{"worker bootstrap template", capi.MachineDeployments["md-0"].BootstrapTemplate, ours.MachineDeployments["md-0"].BootstrapTemplate, templateSpec},
				{"worker InfraMachineTemplate", capi.MachineDeployments["md-0"].InfrastructureMachineTemplate, ours.MachineDeployments["md-0"].InfrastructureMachineTemplate, templateSpec},
			} {
				want, _, _ := unstructured.NestedFieldNoCopy(f.capi.Object, f.path...)
				got, _, _ := unstructured.NestedFieldNoCopy(f.ours.Object, f.path...)
				if !equalJSON(t, want, got) {
					t.Errorf("%s: CAPI's generator %s, capi-planner %s", f.what, fmtJSON(t, want), fmtJSON(t, got))
				}
			}
			if v := capi.MachineDeployments["md-0"].Object.Spec.Template.Spec.Version; v != "v1.33.4" {
				t.Errorf("CAPI moved the MachineDeployment to %s", v)
			}
		})
	}
}
