// Package state holds the objects of a management cluster that planning reads,
// as typed CAPI v1beta2 objects (other providers' kinds stay unstructured).
// Readers (YAML snapshots, later a live cluster) fill a State; the planner only reads it.
package state

import (
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// MachineHealthChecks are read for the remediations they have under way.
	MachineHealthChecks []*clusterv1.MachineHealthCheck
	Machines            []*clusterv1.Machine
	ExtensionConfigs    []*runtimev1.ExtensionConfig
	Namespaces          []*corev1.Namespace
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
	// CRDs are the name and labels of the CAPI providers' CustomResourceDefinitions:
	// their cluster.x-k8s.io/<contract> labels give each kind's contract version.
	CRDs []*metav1.PartialObjectMetadata
	// ClusterRoles and ClusterRoleBindings are the management cluster's (rules,
	// role references and subjects only), read to tell who may reach the kubelets'
	// nodes/proxy. Roles and RoleBindings are not read: RBAC consults RoleBindings
	// only for namespaced requests, and nodes are cluster-scoped.
	ClusterRoles        []*rbacv1.ClusterRole
	ClusterRoleBindings []*rbacv1.ClusterRoleBinding
	// Management is the management cluster itself (its Kubernetes version); nil
	// when unknown, as for a snapshot without a ManagementCluster record.
	Management *ManagementCluster
	// Sources says where each object of a snapshot file was read, keyed by kind,
	// namespace and name (no group); nil when read live or from stdin.
	Sources map[ObjectKey]Source

	// idx speeds up the lookups below; built on first use, dropped by Add.
	idx *index
}

// Source is where an object was read from: a snapshot file (not stdin), and the
// first line of its YAML document (of the List, for an item of a List).
type Source struct {
	File string
	Line int
}

// SourceOf says where the object was read, when it came from a snapshot.
func (s *State) SourceOf(kind, namespace, name string) (Source, bool) {
	src, ok := s.Sources[ObjectKey{Kind: kind, Namespace: namespace, Name: name}]
	return src, ok
}

// index maps the keys planning looks objects up by to the objects, so that
// planning a fleet stays linear in its size.
type index struct {
	classes       map[ObjectKey]*clusterv1.ClusterClass
	controlPlanes map[ObjectKey]*unstructured.Unstructured
	templates     map[ObjectKey]*unstructured.Unstructured
	mds           map[clusterKey][]*clusterv1.MachineDeployment
	mps           map[clusterKey][]*clusterv1.MachinePool
	machines      map[ownerKey][]*clusterv1.Machine
	cpMachines    map[clusterKey][]*clusterv1.Machine
	machineSets   map[ownerKey][]*clusterv1.MachineSet
	namespaces    map[string]*corev1.Namespace
}

type clusterKey struct{ namespace, cluster string }

type ownerKey struct{ namespace, cluster, deployment string }

func (s *State) index() *index {
	if s.idx != nil {
		return s.idx
	}
	x := &index{
		classes:       map[ObjectKey]*clusterv1.ClusterClass{},
		controlPlanes: map[ObjectKey]*unstructured.Unstructured{},
		templates:     map[ObjectKey]*unstructured.Unstructured{},
		mds:           map[clusterKey][]*clusterv1.MachineDeployment{},
		mps:           map[clusterKey][]*clusterv1.MachinePool{},
		machines:      map[ownerKey][]*clusterv1.Machine{},
		cpMachines:    map[clusterKey][]*clusterv1.Machine{},
		machineSets:   map[ownerKey][]*clusterv1.MachineSet{},
		namespaces:    map[string]*corev1.Namespace{},
	}
	for _, cc := range s.ClusterClasses {
		x.classes[ObjectKey{Kind: "ClusterClass", Namespace: cc.Namespace, Name: cc.Name}] = cc
	}
	for _, cp := range s.ControlPlanes {
		x.controlPlanes[KeyOf(cp)] = cp
	}
	for _, t := range s.Templates {
		x.templates[KeyOf(t)] = t
	}
	for _, md := range s.MachineDeployments {
		k := clusterKey{md.Namespace, md.Labels[clusterv1.ClusterNameLabel]}
		x.mds[k] = append(x.mds[k], md)
	}
	for _, mp := range s.MachinePools {
		k := clusterKey{mp.Namespace, mp.Labels[clusterv1.ClusterNameLabel]}
		x.mps[k] = append(x.mps[k], mp)
	}
	for _, m := range s.Machines {
		if cp, ok := m.Labels[clusterv1.MachineControlPlaneNameLabel]; ok {
			k := clusterKey{m.Namespace, cp}
			x.cpMachines[k] = append(x.cpMachines[k], m)
			continue
		}
		k := ownerKey{m.Namespace, m.Labels[clusterv1.ClusterNameLabel], m.Labels[clusterv1.MachineDeploymentNameLabel]}
		x.machines[k] = append(x.machines[k], m)
	}
	for _, ms := range s.MachineSets {
		k := ownerKey{ms.Namespace, ms.Spec.ClusterName, ms.Labels[clusterv1.MachineDeploymentNameLabel]}
		x.machineSets[k] = append(x.machineSets[k], ms)
	}
	for _, ns := range s.Namespaces {
		x.namespaces[ns.Name] = ns
	}
	s.idx = x
	return x
}

// Sort orders every list by namespace and name so that output never depends on input order.
func (s *State) Sort() {
	s.idx = nil
	sortByKey(s.Clusters)
	sortByKey(s.ClusterClasses)
	sortByKey(s.MachineDeployments)
	sortByKey(s.MachineSets)
	sortByKey(s.MachinePools)
	sortByKey(s.MachineHealthChecks)
	sortByKey(s.Machines)
	sortByKey(s.ExtensionConfigs)
	sortByKey(s.Namespaces)
	sortByKey(s.ControlPlanes)
	sortByKey(s.Templates)
	sortByKey(s.Controllers)
	sortByKey(s.Providers)
	sortByKey(s.CRDs)
	sortByKey(s.ClusterRoles)
	sortByKey(s.ClusterRoleBindings)
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
	return s.index().classes[ObjectKey{Kind: "ClusterClass", Namespace: ns, Name: c.Spec.Topology.ClassRef.Name}]
}

// ControlPlane returns the control plane object a Cluster refers to, or nil.
func (s *State) ControlPlane(c *clusterv1.Cluster) *unstructured.Unstructured {
	ref := c.Spec.ControlPlaneRef
	if !ref.IsDefined() {
		return nil
	}
	return s.index().controlPlanes[ObjectKey{Group: ref.APIGroup, Kind: ref.Kind, Namespace: c.Namespace, Name: ref.Name}]
}

// Template returns the template an object refers to in namespace ns, or nil.
func (s *State) Template(gk schema.GroupKind, ns, name string) *unstructured.Unstructured {
	return s.index().templates[ObjectKey{Group: gk.Group, Kind: gk.Kind, Namespace: ns, Name: name}]
}

// MachineDeploymentsOf returns the MachineDeployments of a Cluster, by cluster-name label.
func (s *State) MachineDeploymentsOf(c *clusterv1.Cluster) []*clusterv1.MachineDeployment {
	return s.index().mds[clusterKey{c.Namespace, c.Name}]
}

// MachinePoolsOf returns the MachinePools of a Cluster, by cluster-name label.
func (s *State) MachinePoolsOf(c *clusterv1.Cluster) []*clusterv1.MachinePool {
	return s.index().mps[clusterKey{c.Namespace, c.Name}]
}

// MachinesOf returns the Machines selected by the MachineDeployment, by deployment-name label.
func (s *State) MachinesOf(md *clusterv1.MachineDeployment) []*clusterv1.Machine {
	return s.index().machines[ownerKey{md.Namespace, md.Spec.ClusterName, md.Name}]
}

// MachineSetsOf returns the MachineSets of a MachineDeployment, by deployment-name label.
func (s *State) MachineSetsOf(md *clusterv1.MachineDeployment) []*clusterv1.MachineSet {
	return s.index().machineSets[ownerKey{md.Namespace, md.Spec.ClusterName, md.Name}]
}

// ControlPlaneMachines returns the Machines of a control plane, by control-plane-name label.
func (s *State) ControlPlaneMachines(namespace, name string) []*clusterv1.Machine {
	return s.index().cpMachines[clusterKey{namespace, name}]
}

// Namespace returns the Namespace object with that name, or nil when the state has none.
func (s *State) Namespace(name string) *corev1.Namespace {
	return s.index().namespaces[name]
}

// ClusterKey returns the namespaced name of a Cluster.
func ClusterKey(c *clusterv1.Cluster) types.NamespacedName {
	return types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
}
