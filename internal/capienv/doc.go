// Package capienv is a Cluster API management cluster in a box, for tests and
// for `make sandbox`: a real kube-apiserver and etcd (controller-runtime's
// envtest) with the CAPI v1.14.2 CRDs from the module cache, and the real
// controllers running as child processes: the core manager, KubeadmControlPlane,
// the kubeadm bootstrap provider, CAPD with its in-memory backend (no Docker:
// every workload cluster is a fake API server on 127.0.0.1), and CAPI's test
// runtime extension, registered through an ExtensionConfig that the core
// controller discovers.
//
// Everything the controllers write (status, conditions, discovered handlers)
// comes from them. The box emulates one thing, which the in-memory backend
// lacks: after an in-place update a real kubelet restarts at the new version,
// while the fake workload Node keeps its old status.nodeInfo.kubeletVersion, so
// KCP would never see the Machine as done. The box sets it from the Machine's
// spec.version once the Machine is no longer updating (see kubelet.go).
//
// The managers are built by hack/capi-managers.sh; kube-apiserver and etcd by
// hack/envtest.sh. Start starts everything; Stop stops everything Start started,
// by PID, and the children die with the process that started them.
package capienv
