package planner

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// The planner's errors say what is wrong with its input, never which flag or
// file it came from: plan gets a target from --to, apply from a saved plan.
// The commands phrase them for their users.

// ErrNoClusters is returned when the input holds no Cluster to plan.
var ErrNoClusters = errors.New("no Cluster objects found in the input")

// InvalidTargetError is a target that is not an exact Kubernetes version,
// a minor or "latest".
type InvalidTargetError struct {
	Value string
}

func (e *InvalidTargetError) Error() string {
	return fmt.Sprintf("invalid target %q: expected an exact Kubernetes version (v1.36.3), a minor (v1.36) or \"latest\"", e.Value)
}

// InvalidVersionError is an entry of Options.Versions that is not an exact
// Kubernetes version.
type InvalidVersionError struct {
	Value string
	// Index is its position in Options.Versions, from 0.
	Index int
}

func (e *InvalidVersionError) Error() string {
	return fmt.Sprintf("invalid version %q at position %d of the version list: expected a Kubernetes version such as v1.36.3", e.Value, e.Index+1)
}

// ClusterNotFoundError is a Selection that matches no Cluster of the input.
type ClusterNotFoundError struct {
	// Cluster is the selected Cluster, or nil when Namespace selected none.
	Cluster   *types.NamespacedName
	Namespace string
	// Have are the Clusters the input holds, as namespace/name.
	Have []string
}

func (e *ClusterNotFoundError) Error() string {
	if e.Cluster != nil {
		return fmt.Sprintf("cluster %s not found in the input; it holds %s", e.Cluster, strings.Join(e.Have, ", "))
	}
	return fmt.Sprintf("no Cluster in namespace %q; the input holds %s", e.Namespace, strings.Join(e.Have, ", "))
}
