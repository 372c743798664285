package snapshot

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/blang/semver/v4"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/state"
)

// ownGroups are Cluster API's own groups: every kind of them is in the scheme.
var ownGroups = map[string]bool{clusterv1.GroupVersion.Group: true, runtimev1.GroupVersion.Group: true}

// providerGroups hold the kinds of every provider, which capi-planner reads by contract.
var providerGroups = map[string]bool{
	"infrastructure.cluster.x-k8s.io": true, "bootstrap.cluster.x-k8s.io": true, state.ControlPlaneGroup: true,
	"addons.cluster.x-k8s.io": true, "ipam.cluster.x-k8s.io": true, state.ClusterctlGroup: true,
}

// knownScheme is the scheme objects are decoded with, to tell known kinds.
var knownScheme = sync.OnceValue(scheme.New)

// knownVersions lists, per kind of the scheme, its versions.
var knownVersions = sync.OnceValue(func() map[schema.GroupKind][]string {
	out := map[schema.GroupKind][]string{}
	for gvk := range knownScheme().AllKnownTypes() {
		if !strings.HasSuffix(gvk.Kind, "List") {
			out[gvk.GroupKind()] = append(out[gvk.GroupKind()], gvk.Version)
		}
	}
	for _, vs := range out {
		sort.Strings(vs)
	}
	return out
})

// plannedKind returns the group of a kind of Cluster API's own groups that planning reads.
func plannedKind(kind string) (group string, ok bool) {
	for gk := range hubKinds {
		if gk.Kind == kind {
			return gk.Group, true
		}
	}
	return "", false
}

// unknownKind says why an object that planning skips may be one it was meant to
// read: a kind or version of a Cluster API group that capi-planner does not know,
// an unknown *.x-k8s.io group, or a planned kind in another group. "" when none.
func unknownKind(gvk schema.GroupVersionKind) string {
	const loses = "the plan leaves it out, and misses it if it was meant as an object planning reads; check apiVersion and kind"
	if group, ok := plannedKind(gvk.Kind); ok && group != gvk.Group {
		return fmt.Sprintf("capi-planner reads %s objects of group %s, not %s: %s", gvk.Kind, group, gvk.Group, loses)
	}
	switch {
	case gvk.Group == state.ManagementClusterGroupVersionKind.Group:
		want := state.ManagementClusterGroupVersionKind
		return fmt.Sprintf("capi-planner reads one kind of %s from snapshots, %s (%s), not %s: %s", gvk.Group, want.Kind, want.GroupVersion(), gvk.Kind, loses)
	case ownGroups[gvk.Group]:
		versions, ok := knownVersions()[gvk.GroupKind()]
		if !ok {
			return fmt.Sprintf("%s is not a kind of %s that capi-planner knows: %s", gvk.Kind, gvk.Group, loses)
		}
		if !knownScheme().Recognizes(gvk) {
			return fmt.Sprintf("%s is not a version of %s that capi-planner knows (it knows %s): %s", gvk.Version, gvk.Kind, strings.Join(versions, ", "), loses)
		}
	case providerGroups[gvk.Group]:
	case strings.HasSuffix(gvk.Group, "x-k8s.io"):
		return fmt.Sprintf("%s is not an API group of Cluster API that capi-planner knows: %s", gvk.Group, loses)
	}
	return ""
}

// checkObject refuses what the API server or Cluster API would not hold: a
// namespaced object without a namespace, a Kubernetes version not written vX.Y.Z.
func checkObject(obj runtime.Object, kind, namespace string) error {
	switch obj.(type) {
	case *corev1.Namespace, *metav1.PartialObjectMetadata, *runtimev1.ExtensionConfig, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, *state.ManagementCluster:
	default:
		if namespace == "" {
			return fmt.Errorf("field metadata.namespace: missing; %s objects are namespaced and what they reference is looked up in their namespace: add metadata.namespace (kubectl get -o yaml writes it)", kind)
		}
	}
	field, version := "", ""
	switch o := obj.(type) {
	case *clusterv1.Cluster:
		field, version = "spec.topology.version", o.Spec.Topology.Version
	case *controlplanev1.KubeadmControlPlane:
		field, version = "spec.version", o.Spec.Version
	case *clusterv1.MachineDeployment:
		field, version = "spec.template.spec.version", o.Spec.Template.Spec.Version
	case *clusterv1.MachineSet:
		field, version = "spec.template.spec.version", o.Spec.Template.Spec.Version
	case *clusterv1.MachinePool:
		field, version = "spec.template.spec.version", o.Spec.Template.Spec.Version
	case *clusterv1.Machine:
		field, version = "spec.version", o.Spec.Version
	case *unstructured.Unstructured:
		if state.IsControlPlaneKind(o.GroupVersionKind().Group, o.GetKind()) {
			field = "spec.version"
			version, _, _ = unstructured.NestedString(o.Object, "spec", "version")
		}
	}
	if version != "" && !isKubernetesVersion(version) {
		return fmt.Errorf("field %s: %q is not a valid Kubernetes version; expected vMAJOR.MINOR.PATCH without leading zeros, such as v1.35.4", field, version)
	}
	return nil
}

// isKubernetesVersion reports whether v is written as Kubernetes releases are: v and a strict semantic version.
func isKubernetesVersion(v string) bool {
	_, err := semver.Parse(strings.TrimPrefix(v, "v"))
	return strings.HasPrefix(v, "v") && err == nil
}
