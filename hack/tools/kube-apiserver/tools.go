//go:build tools

// Package tools pins kube-apiserver for the envtest tier: hack/envtest.sh builds
// k8s.io/kubernetes/cmd/kube-apiserver from this module.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver/app"
