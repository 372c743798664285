package capienv

import "path/filepath"

// Version is the CAPI version of the managers and CRDs in the box.
const Version = "v1.14.2"

// FeatureGates are the gates every manager runs with.
const FeatureGates = "ClusterTopology=true,RuntimeSDK=true,InPlaceUpdates=true,MachinePool=true"

// provider is one CAPI manager and what clusterctl would install for it.
type provider struct {
	// name is clusterctl's provider name (the cluster.x-k8s.io/provider label).
	name string
	// binary is the manager's file name in the managers directory.
	binary string
	// namespace, deployment and image are what clusterctl installs.
	namespace, deployment, image string
	// testModule: its config lives in sigs.k8s.io/cluster-api/test, not the main module.
	testModule bool
	// configDir is its config/ directory, relative to its module.
	configDir string
	// namePrefix is kustomize's namePrefix for its webhook configurations.
	namePrefix string
	// env is extra environment for the process.
	env []string
	// clusterctlType and clusterctlName are its clusterctl Provider's type and providerName.
	clusterctlType, clusterctlName string
}

var providers = []provider{
	{name: "cluster-api", binary: "cluster-api-controller", namespace: "capi-system", deployment: "capi-controller-manager",
		image: "registry.k8s.io/cluster-api/cluster-api-controller:" + Version, configDir: "core/config", namePrefix: "capi-",
		clusterctlType: "CoreProvider", clusterctlName: "cluster-api"},
	{name: "control-plane-kubeadm", binary: "kubeadm-control-plane-controller", namespace: "capi-kubeadm-control-plane-system",
		deployment: "capi-kubeadm-control-plane-controller-manager", image: "registry.k8s.io/cluster-api/kubeadm-control-plane-controller:" + Version,
		configDir: "controlplane/kubeadm/config", namePrefix: "capi-kubeadm-control-plane-",
		clusterctlType: "ControlPlaneProvider", clusterctlName: "kubeadm"},
	{name: "bootstrap-kubeadm", binary: "kubeadm-bootstrap-controller", namespace: "capi-kubeadm-bootstrap-system",
		deployment: "capi-kubeadm-bootstrap-controller-manager", image: "registry.k8s.io/cluster-api/kubeadm-bootstrap-controller:" + Version,
		configDir: "bootstrap/kubeadm/config", namePrefix: "capi-kubeadm-bootstrap-",
		clusterctlType: "BootstrapProvider", clusterctlName: "kubeadm"},
	// CAPD, used only with its in-memory backend: each workload cluster's fake API
	// server listens on POD_IP.
	{name: "infrastructure-docker", binary: "capd-controller", namespace: "capd-system", deployment: "capd-controller-manager",
		image: "gcr.io/k8s-staging-cluster-api/capd-manager:" + Version, testModule: true, configDir: "infrastructure/docker/config",
		namePrefix: "capd-", env: []string{"POD_IP=127.0.0.1"},
		clusterctlType: "InfrastructureProvider", clusterctlName: "docker"},
}

// modules are the directories of the CAPI modules in the module cache.
type modules struct{ core, test string }

func (m modules) config(p provider, sub ...string) string {
	root := m.core
	if p.testModule {
		root = m.test
	}
	return filepath.Join(append([]string{root, p.configDir}, sub...)...)
}
