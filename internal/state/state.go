// Package state holds the objects of a management cluster that planning reads,
// as typed CAPI v1beta2 objects (other providers' kinds stay unstructured).
// Readers (YAML snapshots, later a live cluster) fill a State; the planner only reads it.
package state

import (
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
)

// ObjectKey identifies an object of any kind: group, kind, namespace and name.
type ObjectKey struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// String renders the key the way kubectl names objects: Kind/namespace/name.
func (k ObjectKey) String() string {
	if k.Namespace == "" {
		return k.Kind + "/" + k.Name
	}
	return k.Kind + "/" + k.Namespace + "/" + k.Name
}

// KeyOf returns the ObjectKey of an unstructured object.
func KeyOf(u *unstructured.Unstructured) ObjectKey {
	gvk := u.GroupVersionKind()
	return ObjectKey{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// State is everything planning reads from a management cluster.
type State struct {
	Clusters           []*clusterv1.Cluster
	ClusterClasses     []*clusterv1.ClusterClass
	MachineDeployments []*clusterv1.MachineDeployment
	MachineSets        []*clusterv1.MachineSet
	MachinePools       []*clusterv1.MachinePool
	Machines           []*clusterv1.Machine
	ExtensionConfigs   []*runtimev1.ExtensionConfig
	Namespaces         []*corev1.Namespace
	// ControlPlanes holds control plane objects of any provider (KubeadmControlPlane
	// included), read through the CAPI contract fields (spec.version, spec.replicas, status).
	ControlPlanes []*unstructured.Unstructured
	// Templates holds the infrastructure, bootstrap and control plane templates.
	Templates []*unstructured.Unstructured
	// Controllers are the providers' controller Deployments (label cluster.x-k8s.io/provider),
	// kept for their images and --feature-gates arguments only.
	Controllers []*appsv1.Deployment
	// Providers are clusterctl's Provider objects, when clusterctl installed CAPI.
	Providers []*unstructured.Unstructured
}

// Sort orders every list by namespace and name so that output never depends on input order.
func (s *State) Sort() {
	sortByKey(s.Clusters)
	sortByKey(s.ClusterClasses)
	sortByKey(s.MachineDeployments)
	sortByKey(s.MachineSets)
	sortByKey(s.MachinePools)
	sortByKey(s.Machines)
	sortByKey(s.ExtensionConfigs)
	sortByKey(s.Namespaces)
	sortByKey(s.ControlPlanes)
	sortByKey(s.Templates)
	sortByKey(s.Controllers)
	sortByKey(s.Providers)
}

type namespacedNamed interface {
	GetNamespace() string
	GetName() string
}

func sortByKey[T namespacedNamed](objs []T) {
	sort.SliceStable(objs, func(i, j int) bool {
		if objs[i].GetNamespace() != objs[j].GetNamespace() {
			return objs[i].GetNamespace() < objs[j].GetNamespace()
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}

// ClusterClass returns the ClusterClass a topology Cluster refers to, or nil.
func (s *State) ClusterClass(c *clusterv1.Cluster) *clusterv1.ClusterClass {
	if c.Spec.Topology.ClassRef.Name == "" {
		return nil
	}
	ns := c.Spec.Topology.ClassRef.Namespace
	if ns == "" {
		ns = c.Namespace
	}
	for _, cc := range s.ClusterClasses {
		if cc.Namespace == ns && cc.Name == c.Spec.Topology.ClassRef.Name {
			return cc
		}
	}
	return nil
}

// ControlPlane returns the control plane object a Cluster refers to, or nil.
func (s *State) ControlPlane(c *clusterv1.Cluster) *unstructured.Unstructured {
	ref := c.Spec.ControlPlaneRef
	if !ref.IsDefined() {
		return nil
	}
	for _, cp := range s.ControlPlanes {
		gvk := cp.GroupVersionKind()
		if gvk.Group == ref.APIGroup && gvk.Kind == ref.Kind && cp.GetNamespace() == c.Namespace && cp.GetName() == ref.Name {
			return cp
		}
	}
	return nil
}

// Template returns the template an object refers to in namespace ns, or nil.
func (s *State) Template(gk schema.GroupKind, ns, name string) *unstructured.Unstructured {
	for _, t := range s.Templates {
		gvk := t.GroupVersionKind()
		if gvk.Group == gk.Group && gvk.Kind == gk.Kind && t.GetNamespace() == ns && t.GetName() == name {
			return t
		}
	}
	return nil
}

// MachineDeploymentsOf returns the MachineDeployments of a Cluster, by cluster-name label.
func (s *State) MachineDeploymentsOf(c *clusterv1.Cluster) []*clusterv1.MachineDeployment {
	return ofCluster(s.MachineDeployments, c)
}

// MachinePoolsOf returns the MachinePools of a Cluster, by cluster-name label.
func (s *State) MachinePoolsOf(c *clusterv1.Cluster) []*clusterv1.MachinePool {
	return ofCluster(s.MachinePools, c)
}

// MachinesOf returns the Machines selected by the MachineDeployment, by deployment-name label.
func (s *State) MachinesOf(md *clusterv1.MachineDeployment) []*clusterv1.Machine {
	var out []*clusterv1.Machine
	for _, m := range s.Machines {
		if m.Namespace == md.Namespace && m.Labels[clusterv1.ClusterNameLabel] == md.Spec.ClusterName &&
			m.Labels[clusterv1.MachineDeploymentNameLabel] == md.Name {
			out = append(out, m)
		}
	}
	return out
}

// Namespace returns the Namespace object with that name, or nil when the snapshot has none.
func (s *State) Namespace(name string) *corev1.Namespace {
	for _, ns := range s.Namespaces {
		if ns.Name == name {
			return ns
		}
	}
	return nil
}

type clusterOwned interface {
	namespacedNamed
	GetLabels() map[string]string
}

func ofCluster[T clusterOwned](objs []T, c *clusterv1.Cluster) []T {
	var out []T
	for _, o := range objs {
		if o.GetNamespace() == c.Namespace && o.GetLabels()[clusterv1.ClusterNameLabel] == c.Name {
			out = append(out, o)
		}
	}
	return out
}

// ClusterKey returns the namespaced name of a Cluster.
func ClusterKey(c *clusterv1.Cluster) types.NamespacedName {
	return types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
}
