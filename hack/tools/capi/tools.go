//go:build tools

// Package tools pins the Cluster API v1.14.2 managers for the real-controller tier:
// hack/capi-managers.sh builds these five main packages from this module.
// Only they are imported: tidying the test module's own test dependencies does
// not resolve from the module proxy.
package tools

import (
	_ "sigs.k8s.io/cluster-api/bootstrap/kubeadm"
	_ "sigs.k8s.io/cluster-api/controlplane/kubeadm"
	_ "sigs.k8s.io/cluster-api/core"
	_ "sigs.k8s.io/cluster-api/test/extension"
	_ "sigs.k8s.io/cluster-api/test/infrastructure/docker"
)
