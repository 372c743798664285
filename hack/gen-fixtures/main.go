// Command gen-fixtures writes the snapshots under fixtures/ from the CAPI API
// types (internal/fleet). Run it with `make fixtures` after changing it.
package main

//lint:file-ignore SA1019 capi-planner reads (and the fixtures are written in) the deprecated v1beta1 API on purpose.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	controlplanev1beta1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta1"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1beta1 "sigs.k8s.io/cluster-api/api/core/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/state/snapshot"
)

var lifecycleHooks = []string{"BeforeClusterUpgrade", "BeforeControlPlaneUpgrade", "AfterControlPlaneUpgrade", "BeforeWorkersUpgrade", "AfterWorkersUpgrade", "AfterClusterUpgrade"}

// fixture is one snapshot directory: files by name, objects in order.
type fixture struct {
	dir   string
	files map[string]fleet.Objects
	// v1beta1 writes the CAPI objects in their v1beta1 form (to exercise conversion).
	v1beta1 bool
}

func fixtures() []fixture {
	chain := []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3"}
	return []fixture{
		{dir: "topology-versions", files: map[string]fleet.Objects{
			"clusterclass.yaml": append(fleet.Objects{fleet.Namespace("prod", map[string]string{"env": "prod"})},
				fleet.ClusterClass(fleet.ClassSpec{Namespace: "prod", Name: "quick-start", Versions: chain, Patches: true})...),
			"cluster.yaml": fleet.Cluster(fleet.ClusterSpec{Namespace: "prod", Name: "web", Class: "quick-start", ControlPlaneVersion: "v1.33.4", Replicas: 3, ClassPatches: true,
				Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 2}}}),
			"extensions.yaml": {
				fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "lifecycle", URL: "https://lifecycle.extensions.svc:9443", Hooks: lifecycleHooks,
					NamespaceSelector: map[string]string{"env": "prod"}}),
				fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "in-place", URL: "https://in-place.extensions.svc:9443",
					Hooks: []string{"CanUpdateMachine", "CanUpdateMachineSet", "UpdateMachine"}, NamespaceSelector: map[string]string{"env": "prod"}}),
			},
			"management.yaml": {
				fleet.Namespace("capi-system", nil),
				fleet.Controller(fleet.ControllerSpec{Namespace: "capi-system", Name: "capi-controller-manager", Provider: "cluster-api",
					Image: "registry.k8s.io/cluster-api/cluster-api-controller:v1.14.2", FeatureGates: "MachinePool=true,ClusterTopology=true,RuntimeSDK=true,InPlaceUpdates=true"}),
				fleet.Provider("capi-system", "cluster-api", "CoreProvider", "cluster-api", "v1.14.2"),
				fleet.Namespace("capi-kubeadm-control-plane-system", nil),
				fleet.Controller(fleet.ControllerSpec{Namespace: "capi-kubeadm-control-plane-system", Name: "capi-kubeadm-control-plane-controller-manager", Provider: "control-plane-kubeadm",
					Image: "registry.k8s.io/cluster-api/kubeadm-control-plane-controller:v1.14.2", FeatureGates: "ClusterTopology=true,InPlaceUpdates=true"}),
				fleet.Provider("capi-kubeadm-control-plane-system", "control-plane-kubeadm", "ControlPlaneProvider", "kubeadm", "v1.14.2"),
			},
		}},
		{dir: "topology-one-minor", files: map[string]fleet.Objects{
			"snapshot.yaml": append(append(fleet.Objects{fleet.Namespace("staging", nil)},
				fleet.ClusterClass(fleet.ClassSpec{Namespace: "staging", Name: "basic"})...),
				fleet.Cluster(fleet.ClusterSpec{Namespace: "staging", Name: "api", Class: "basic", ControlPlaneVersion: "v1.35.4", Replicas: 3,
					Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.35.4", Replicas: 3}}})...),
		}},
		{dir: "topology-extension", files: map[string]fleet.Objects{
			"snapshot.yaml": append(append(fleet.Objects{fleet.Namespace("edge", nil),
				fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "upgrade-plans", URL: "https://upgrade-plans.extensions.svc:9443", Hooks: []string{"GenerateUpgradePlan"}})},
				fleet.ClusterClass(fleet.ClassSpec{Namespace: "edge", Name: "edge-class", Extension: "generate-upgrade-plan.upgrade-plans"})...),
				fleet.Cluster(fleet.ClusterSpec{Namespace: "edge", Name: "store-42", Class: "edge-class", ControlPlaneVersion: "v1.33.4", Replicas: 1,
					Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 1}}})...),
		}},
		{dir: "unmanaged", v1beta1: true, files: map[string]fleet.Objects{
			"snapshot.yaml": append(fleet.Objects{fleet.Namespace("legacy", nil)},
				fleet.Cluster(fleet.ClusterSpec{Namespace: "legacy", Name: "db", ControlPlaneVersion: "v1.33.4", Replicas: 3,
					Workers: []fleet.WorkerSpec{{Name: "md-a", Version: "v1.33.4", Replicas: 3}, {Name: "md-b", Version: "v1.32.13", Replicas: 2}}})...),
		}},
		{dir: "machinepools", files: map[string]fleet.Objects{
			"snapshot.yaml": append(append(fleet.Objects{fleet.Namespace("batch", nil)},
				fleet.ClusterClass(fleet.ClassSpec{Namespace: "batch", Name: "pools", Versions: chain, MachinePools: true})...),
				fleet.Cluster(fleet.ClusterSpec{Namespace: "batch", Name: "jobs", Class: "pools", ControlPlaneVersion: "v1.33.4", Replicas: 3,
					Annotations: map[string]string{clusterv1.ClusterTopologyUpgradeConcurrencyAnnotation: "2"},
					Workers: []fleet.WorkerSpec{
						{Name: "md-0", Version: "v1.33.4", Replicas: 2}, {Name: "md-1", Version: "v1.33.4", Replicas: 2}, {Name: "md-2", Version: "v1.33.4", Replicas: 2},
						{Name: "mp-0", Version: "v1.33.4", Replicas: 5, Pool: true}, {Name: "mp-1", Version: "v1.33.4", Replicas: 5, Pool: true},
					}})...),
		}},
		{dir: "workers-lagging", files: map[string]fleet.Objects{
			"snapshot.yaml": append(append(fleet.Objects{fleet.Namespace("retail", nil)},
				fleet.ClusterClass(fleet.ClassSpec{Namespace: "retail", Name: "stores", Versions: []string{"v1.31.14", "v1.32.13", "v1.33.13", "v1.34.3", "v1.35.2"}})...),
				// Mid-chain from v1.31.14 to v1.35.2: the control plane reached v1.34.3,
				// the workers wait at v1.31.14 for the v1.34.3 worker step.
				fleet.Cluster(fleet.ClusterSpec{Namespace: "retail", Name: "checkout", Class: "stores", TopologyVersion: "v1.35.2", ControlPlaneVersion: "v1.34.3", Replicas: 3,
					Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.31.14", Replicas: 3}, {Name: "md-1", Version: "v1.31.14", Replicas: 2}}})...),
		}},
		{dir: "defer-hold", files: map[string]fleet.Objects{
			"snapshot.yaml": append(append(fleet.Objects{fleet.Namespace("payments", nil)},
				fleet.ClusterClass(fleet.ClassSpec{Namespace: "payments", Name: "secure", Versions: chain})...),
				fleet.Cluster(fleet.ClusterSpec{Namespace: "payments", Name: "ledger", Class: "secure", ControlPlaneVersion: "v1.34.3", Replicas: 3,
					Workers: []fleet.WorkerSpec{
						{Name: "md-a", Version: "v1.34.3", Replicas: 2},
						{Name: "md-b", Version: "v1.34.3", Replicas: 2, Annotations: map[string]string{clusterv1.ClusterTopologyDeferUpgradeAnnotation: ""}},
						{Name: "md-c", Version: "v1.34.3", Replicas: 2, Annotations: map[string]string{clusterv1.ClusterTopologyHoldUpgradeSequenceAnnotation: ""}},
						{Name: "md-d", Version: "v1.34.3", Replicas: 2},
					}})...),
		}},
		{dir: "fleet", files: fleetFiles(chain)},
		{dir: "nodes-proxy", files: map[string]fleet.Objects{
			"snapshot.yaml": append(append(fleet.Objects{fleet.Namespace("observability", nil)},
				fleet.ClusterClass(fleet.ClassSpec{Namespace: "observability", Name: "basic"})...),
				fleet.Cluster(fleet.ClusterSpec{Namespace: "observability", Name: "metrics", Class: "basic", ControlPlaneVersion: "v1.35.4", Replicas: 3,
					Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.35.4", Replicas: 2}}})...),
			// The management cluster's RBAC: the API server's kubelet client and
			// system:masters (not reported), a monitoring ServiceAccount that may
			// get nodes/proxy, and a group that reads node metrics only. No name is
			// one of Kubernetes' bootstrap policy, so test/integration can load them.
			"rbac.yaml": {
				fleet.ClusterRole("kubelet-api-full", fleet.Rule([]string{"*"}, []string{""}, []string{"nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"})),
				fleet.ClusterRoleBinding("apiserver-kubelet-client", "kubelet-api-full", fleet.User("kube-apiserver-kubelet-client")),
				fleet.ClusterRoleBinding("break-glass", "kubelet-api-full", fleet.Group("system:masters")),
				fleet.ClusterRole("prometheus", fleet.Rule([]string{"get", "list", "watch"}, []string{""}, []string{"nodes", "nodes/metrics", "nodes/proxy", "services", "endpoints", "pods"})),
				fleet.ClusterRoleBinding("prometheus", "prometheus", fleet.ServiceAccount("monitoring", "prometheus")),
				fleet.ClusterRole("node-reader", fleet.Rule([]string{"get", "list", "watch"}, []string{""}, []string{"nodes", "nodes/metrics", "nodes/stats"})),
				fleet.ClusterRoleBinding("node-reader", "node-reader", fleet.Group("sre")),
			},
		}},
	}
}

func fleetFiles(chain []string) map[string]fleet.Objects {
	files := map[string]fleet.Objects{
		"team-a.yaml": append(append(append(fleet.Objects{fleet.Namespace("team-a", nil)},
			fleet.ClusterClass(fleet.ClassSpec{Namespace: "team-a", Name: "standard", Versions: chain})...),
			fleet.Cluster(fleet.ClusterSpec{Namespace: "team-a", Name: "alpha", Class: "standard", ControlPlaneVersion: "v1.34.3", Replicas: 3,
				Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.34.3", Replicas: 3}}})...),
			fleet.Cluster(fleet.ClusterSpec{Namespace: "team-a", Name: "beta", Class: "standard", ControlPlaneVersion: "v1.35.2", Replicas: 3, Paused: true,
				Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.35.2", Replicas: 2}}})...),
		"team-b.yaml": append(append(append(fleet.Objects{fleet.Namespace("team-b", nil)},
			fleet.ClusterClass(fleet.ClassSpec{Namespace: "team-b", Name: "standard", Versions: chain})...),
			// gamma is mid-upgrade: spec.topology.version is v1.36.3, the control plane finished v1.35.2.
			fleet.Cluster(fleet.ClusterSpec{Namespace: "team-b", Name: "gamma", Class: "standard", TopologyVersion: "v1.36.3", ControlPlaneVersion: "v1.35.2", Replicas: 3,
				Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 4}}})...),
			fleet.Cluster(fleet.ClusterSpec{Namespace: "team-b", Name: "delta", ControlPlaneVersion: "v1.34.3", Replicas: 1,
				Workers: []fleet.WorkerSpec{{Name: "workers", Version: "v1.34.3", Replicas: 2}}})...),
		"team-c.yaml": append(append(append(fleet.Objects{fleet.Namespace("team-c", nil)},
			fleet.ClusterClass(fleet.ClassSpec{Namespace: "team-c", Name: "minimal"})...),
			fleet.Cluster(fleet.ClusterSpec{Namespace: "team-c", Name: "epsilon", Class: "minimal", ControlPlaneVersion: "v1.35.2", Replicas: 3,
				Annotations: map[string]string{clusterv1.BeforeClusterUpgradeHookAnnotationPrefix + "/change-freeze": "until 2026-12-01"},
				Workers:     []fleet.WorkerSpec{{Name: "md-0", Version: "v1.35.2", Replicas: 2}}})...),
			fleet.Cluster(fleet.ClusterSpec{Namespace: "team-c", Name: "zeta", Class: "minimal", ControlPlaneVersion: "v1.35.2", Replicas: 3,
				Annotations: map[string]string{"runtime.cluster.x-k8s.io/pending-hooks": "AfterClusterUpgrade"},
				Workers:     []fleet.WorkerSpec{{Name: "md-0", Version: "v1.35.2", Replicas: 2}}})...),
	}
	return files
}

func main() {
	root := flag.String("root", "fixtures", "directory to write the fixtures into")
	flag.Parse()
	conv, err := scheme.NewConverter(scheme.New())
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-fixtures:", err)
		os.Exit(1)
	}
	scheme.UseHubVersionForReferences()
	for _, f := range fixtures() {
		for name, objs := range f.files {
			path := filepath.Join(*root, f.dir, name)
			if err := write(conv, path, objs, f.v1beta1); err != nil {
				fmt.Fprintln(os.Stderr, "gen-fixtures:", err)
				os.Exit(1)
			}
		}
	}
}

func write(conv *scheme.Converter, path string, objs fleet.Objects, v1beta1 bool) error {
	out := make([]runtime.Object, 0, len(objs))
	for _, o := range objs {
		if v1beta1 {
			var err error
			if o, err = toV1beta1(conv, o); err != nil {
				return err
			}
			// Written as a v1beta1 user would: without the hub's round-trip data.
			if m, ok := o.(metav1.Object); ok {
				ann := m.GetAnnotations()
				delete(ann, "cluster.x-k8s.io/conversion-data")
				if len(ann) == 0 {
					ann = nil
				}
				m.SetAnnotations(ann)
			}
		}
		out = append(out, o)
	}
	var buf bytes.Buffer
	if err := snapshot.WriteObjects(&buf, out, "Generated by hack/gen-fixtures from the Cluster API v1.14.2 types; do not edit."); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// toV1beta1 converts the CAPI objects that have a v1beta1 form.
func toV1beta1(conv *scheme.Converter, o runtime.Object) (runtime.Object, error) {
	var out runtime.Object
	switch o.(type) {
	case *clusterv1.Cluster:
		out = &clusterv1beta1.Cluster{}
	case *clusterv1.MachineDeployment:
		out = &clusterv1beta1.MachineDeployment{}
	case *clusterv1.MachineSet:
		out = &clusterv1beta1.MachineSet{}
	case *clusterv1.Machine:
		out = &clusterv1beta1.Machine{}
	case *controlplanev1.KubeadmControlPlane:
		out = &controlplanev1beta1.KubeadmControlPlane{}
	default:
		return o, nil
	}
	if err := conv.Convert(context.Background(), o, out); err != nil {
		return nil, err
	}
	return out, nil
}
