package state

import (
	"fmt"
	"strings"

	"github.com/blang/semver/v4"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ManagementClusterGroupVersionKind names the record of the management cluster
// itself in a snapshot: capi-planner's own kind, which no API server serves.
// `capi-planner snapshot` writes it; the snapshot reader reads it strictly.
var ManagementClusterGroupVersionKind = schema.GroupVersionKind{Group: "capi-planner.io", Version: "v1alpha1", Kind: "ManagementCluster"}

// ManagementClusterName is the name `capi-planner snapshot` gives the record.
const ManagementClusterName = "management"

// ManagementCluster is what planning knows of the management cluster itself,
// beyond the objects it holds: its own Kubernetes version. Read live from the
// API server's /version; in a snapshot, the one object of kind ManagementCluster
// (apiVersion capi-planner.io/v1alpha1):
//
//	apiVersion: capi-planner.io/v1alpha1
//	kind: ManagementCluster
//	metadata:
//	  name: management
//	kubernetesVersion: v1.36.3
type ManagementCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	// KubernetesVersion is the API server's gitVersion (GET /version), such as
	// v1.36.3 or v1.33.5+k3s1.
	KubernetesVersion string `json:"kubernetesVersion"`
}

// NewManagementCluster returns the record of a management cluster running Kubernetes version.
func NewManagementCluster(version string) *ManagementCluster {
	m := &ManagementCluster{KubernetesVersion: version}
	m.SetGroupVersionKind(ManagementClusterGroupVersionKind)
	m.Name = ManagementClusterName
	return m
}

// DeepCopyObject implements runtime.Object.
func (m *ManagementCluster) DeepCopyObject() runtime.Object {
	if m == nil {
		return nil
	}
	out := &ManagementCluster{TypeMeta: m.TypeMeta, KubernetesVersion: m.KubernetesVersion}
	m.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	return out
}

// CheckKubernetesVersion says what is wrong with a Kubernetes version as the
// API server reports it (gitVersion): it must be v and a strict semantic
// version, such as v1.36.3, v1.33.5+k3s1 or v1.32.9-eks-113cf36. nil when right.
func CheckKubernetesVersion(v string) error {
	if v == "" {
		return fmt.Errorf("missing; expected the API server's gitVersion (kubectl version), such as v1.36.3")
	}
	if _, err := semver.Parse(strings.TrimPrefix(v, "v")); err != nil || !strings.HasPrefix(v, "v") {
		return fmt.Errorf("%q is not a valid Kubernetes version; expected vMAJOR.MINOR.PATCH without leading zeros, such as v1.36.3 (a distribution's suffix such as +k3s1 is kept)", v)
	}
	return nil
}
