package planfile

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/extregistry"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/state"
)

// Collect lists the objects planning read for the Cluster: the Cluster, its
// ClusterClass and control plane; its MachineDeployments, MachineSets,
// MachinePools and Machines; the templates of its namespace and its class's;
// the ExtensionConfigs that may serve its namespace and the controllers'
// Deployments (their versions and feature gates).
// Sorted, so that two reads of the same state give the same list.
func Collect(st *state.State, c *clusterv1.Cluster) []Object {
	var out []Object
	add := func(o client.Object, group, kind, version string) {
		out = append(out, Object{Group: group, Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName(),
			UID: string(o.GetUID()), ResourceVersion: o.GetResourceVersion(), Generation: o.GetGeneration(), Version: version})
	}
	core := clusterv1.GroupVersion.Group
	add(c, core, "Cluster", c.Spec.Topology.Version)
	namespaces := map[string]bool{c.Namespace: true}
	if cc := st.ClusterClass(c); cc != nil {
		add(cc, core, "ClusterClass", "")
		namespaces[cc.Namespace] = true
	}
	if cp := st.ControlPlane(c); cp != nil {
		v, _, _ := unstructured.NestedString(cp.Object, "spec", "version")
		add(cp, cp.GroupVersionKind().Group, cp.GetKind(), v)
	}
	for _, md := range st.MachineDeploymentsOf(c) {
		add(md, core, "MachineDeployment", md.Spec.Template.Spec.Version)
		for _, ms := range st.MachineSetsOf(md) {
			add(ms, core, "MachineSet", ms.Spec.Template.Spec.Version)
		}
	}
	for _, mp := range st.MachinePoolsOf(c) {
		add(mp, core, "MachinePool", mp.Spec.Template.Spec.Version)
	}
	cpKind := c.Spec.ControlPlaneRef.Kind
	for _, m := range st.Machines {
		if m.Namespace != c.Namespace || m.Spec.ClusterName != c.Name {
			continue
		}
		add(m, core, "Machine", m.Spec.Version)
		if name := m.Labels[clusterv1.MachineControlPlaneNameLabel]; name != "" {
			out[len(out)-1].Owner = &planner.ObjectRef{Kind: cpKind, Namespace: m.Namespace, Name: name}
		} else if name := m.Labels[clusterv1.MachineDeploymentNameLabel]; name != "" {
			out[len(out)-1].Owner = &planner.ObjectRef{Kind: "MachineDeployment", Namespace: m.Namespace, Name: name}
		}
	}
	for _, t := range st.Templates {
		if namespaces[t.GetNamespace()] {
			add(t, t.GroupVersionKind().Group, t.GetKind(), "")
		}
	}
	// An ExtensionConfig that cannot serve the Cluster's namespace changes
	// nothing of its plan (another team's extension, for instance).
	for _, ec := range st.ExtensionConfigs {
		if extregistry.Selects(st, ec, c.Namespace) {
			add(ec, "runtime.cluster.x-k8s.io", "ExtensionConfig", "")
		}
	}
	for _, d := range st.Controllers {
		add(d, "apps", "Deployment", "")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// ClusterOf finds the plan's Cluster in the state, or nil.
func ClusterOf(st *state.State, ref planner.ObjectRef) *clusterv1.Cluster {
	for _, c := range st.Clusters {
		if c.Namespace == ref.Namespace && c.Name == ref.Name {
			return c
		}
	}
	return nil
}
