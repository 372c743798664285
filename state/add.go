package state

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
)

// ControlPlaneGroup is the API group of control plane providers' kinds.
const ControlPlaneGroup = "controlplane.cluster.x-k8s.io"

// ClusterctlGroup is the API group of clusterctl's Provider objects.
const ClusterctlGroup = "clusterctl.cluster.x-k8s.io"

// ProviderLabel marks the Deployments of CAPI providers' controllers.
const ProviderLabel = "cluster.x-k8s.io/provider"

// IsControlPlaneKind reports whether an unstructured object is a control plane
// (any provider's, read through the CAPI contract fields).
func IsControlPlaneKind(group, kind string) bool {
	return group == ControlPlaneGroup && !strings.HasSuffix(kind, "Template")
}

// IsTemplateKind reports whether an unstructured object is a provider template.
func IsTemplateKind(group, kind string) bool {
	return strings.HasSuffix(group, ".cluster.x-k8s.io") && strings.HasSuffix(kind, "Template")
}

// Add adds one object: a typed CAPI v1beta2 object, a Namespace, a ClusterRole
// or ClusterRoleBinding, a CAPI provider's CRD metadata, an unstructured control
// plane or template, or the ManagementCluster record (one per state). KubeadmControlPlanes
// are kept unstructured like every control plane.
func (s *State) Add(obj runtime.Object) error {
	s.idx = nil
	switch o := obj.(type) {
	case *clusterv1.Cluster:
		s.Clusters = append(s.Clusters, o)
	case *clusterv1.ClusterClass:
		s.ClusterClasses = append(s.ClusterClasses, o)
	case *clusterv1.MachineDeployment:
		s.MachineDeployments = append(s.MachineDeployments, o)
	case *clusterv1.MachineSet:
		s.MachineSets = append(s.MachineSets, o)
	case *clusterv1.MachinePool:
		s.MachinePools = append(s.MachinePools, o)
	case *clusterv1.MachineHealthCheck:
		s.MachineHealthChecks = append(s.MachineHealthChecks, o)
	case *clusterv1.Machine:
		s.Machines = append(s.Machines, o)
	case *runtimev1.ExtensionConfig:
		s.ExtensionConfigs = append(s.ExtensionConfigs, o)
	case *corev1.Namespace:
		s.Namespaces = append(s.Namespaces, o)
	case *rbacv1.ClusterRole:
		s.ClusterRoles = append(s.ClusterRoles, ClusterRoleView(o))
	case *rbacv1.ClusterRoleBinding:
		s.ClusterRoleBindings = append(s.ClusterRoleBindings, ClusterRoleBindingView(o))
	case *appsv1.Deployment:
		if _, ok := o.Labels[ProviderLabel]; !ok {
			return fmt.Errorf("the Deployment %s/%s is not a CAPI provider's controller (no %s label)", o.Namespace, o.Name, ProviderLabel)
		}
		s.Controllers = append(s.Controllers, ControllerView(o))
	case *controlplanev1.KubeadmControlPlane:
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(controlplanev1.GroupVersion.WithKind("KubeadmControlPlane"))
		s.ControlPlanes = append(s.ControlPlanes, u)
	case *ManagementCluster:
		if s.Management != nil {
			return fmt.Errorf("a second ManagementCluster (%s; %s was already read): the input describes one management cluster, so it holds at most one", o.Name, s.Management.Name)
		}
		if err := CheckKubernetesVersion(o.KubernetesVersion); err != nil {
			return fmt.Errorf("ManagementCluster %s: field kubernetesVersion: %w", o.Name, err)
		}
		s.Management = NewManagementCluster(o.KubernetesVersion)
		s.Management.Name = o.Name
	case *metav1.PartialObjectMetadata:
		if !IsCRDOfCAPIProvider(o) {
			return fmt.Errorf("%s %s is not a CAPI provider's CustomResourceDefinition", o.Kind, o.Name)
		}
		s.CRDs = append(s.CRDs, CRDView(o))
	case *unstructured.Unstructured:
		gvk := o.GroupVersionKind()
		switch {
		case IsControlPlaneKind(gvk.Group, gvk.Kind):
			s.ControlPlanes = append(s.ControlPlanes, o)
		case IsTemplateKind(gvk.Group, gvk.Kind):
			s.Templates = append(s.Templates, o)
		case gvk.Group == ClusterctlGroup && gvk.Kind == "Provider":
			s.Providers = append(s.Providers, o)
		default:
			return fmt.Errorf("%s is neither a control plane nor a template", gvk.Kind)
		}
	default:
		return fmt.Errorf("capi-planner does not keep objects of type %T", obj)
	}
	return nil
}

// IsCRDOfCAPIProvider reports whether metadata is of the CustomResourceDefinition
// of a CAPI provider's kind (group cluster.x-k8s.io or *.cluster.x-k8s.io).
func IsCRDOfCAPIProvider(m *metav1.PartialObjectMetadata) bool {
	return m.GroupVersionKind() == apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition") &&
		strings.HasSuffix(m.Name, ".cluster.x-k8s.io")
}

// CRDView keeps what planning reads from a CRD: its name and labels.
func CRDView(m *metav1.PartialObjectMetadata) *metav1.PartialObjectMetadata {
	out := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta}
	out.Name, out.Labels = m.Name, m.Labels
	return out
}

// ControllerView keeps what planning reads from a controller Deployment: its
// identity (uid, resourceVersion, generation), labels, selector and each
// container's name, image and arguments.
// Everything else (environment, volumes, which may carry secrets) is dropped.
func ControllerView(d *appsv1.Deployment) *appsv1.Deployment {
	out := &appsv1.Deployment{TypeMeta: d.TypeMeta}
	out.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	out.Namespace, out.Name, out.Labels = d.Namespace, d.Name, d.Labels
	// Its identity too: a saved plan notices a controller replaced or reconfigured since.
	out.UID, out.ResourceVersion, out.Generation = d.UID, d.ResourceVersion, d.Generation
	out.Spec.Selector = d.Spec.Selector
	out.Spec.Template.Labels = d.Spec.Template.Labels
	for _, c := range d.Spec.Template.Spec.Containers {
		out.Spec.Template.Spec.Containers = append(out.Spec.Template.Spec.Containers,
			corev1.Container{Name: c.Name, Image: c.Image, Args: c.Args, Command: c.Command})
	}
	return out
}

// rbacMeta keeps an RBAC object's kind, name and labels (annotations,
// such as kubectl's last-applied configuration, are dropped).
func rbacMeta(t metav1.TypeMeta, m metav1.ObjectMeta, kind string) (metav1.TypeMeta, metav1.ObjectMeta) {
	t.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind(kind))
	return t, metav1.ObjectMeta{Name: m.Name, Labels: m.Labels}
}

// ClusterRoleView keeps what planning reads from a ClusterRole: its rules (an
// aggregated ClusterRole's rules are those the API server aggregated).
func ClusterRoleView(r *rbacv1.ClusterRole) *rbacv1.ClusterRole {
	out := &rbacv1.ClusterRole{Rules: r.Rules, AggregationRule: r.AggregationRule}
	out.TypeMeta, out.ObjectMeta = rbacMeta(r.TypeMeta, r.ObjectMeta, "ClusterRole")
	return out
}

// ClusterRoleBindingView keeps a ClusterRoleBinding's role reference and subjects.
func ClusterRoleBindingView(b *rbacv1.ClusterRoleBinding) *rbacv1.ClusterRoleBinding {
	out := &rbacv1.ClusterRoleBinding{RoleRef: b.RoleRef, Subjects: b.Subjects}
	out.TypeMeta, out.ObjectMeta = rbacMeta(b.TypeMeta, b.ObjectMeta, "ClusterRoleBinding")
	return out
}
