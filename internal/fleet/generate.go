package fleet

import (
	"bufio"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// FleetSpec sizes a generated management cluster.
type FleetSpec struct {
	Clusters   int
	Machines   int
	Namespaces int
}

// fleetVersions is the chain every generated ClusterClass lists.
var fleetVersions = []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3"}

// fleetHooks are the hooks of the generated management cluster's runtime
// extension: every lifecycle hook of an upgrade and the in-place update hooks.
var fleetHooks = []string{"BeforeClusterUpgrade", "BeforeControlPlaneUpgrade", "AfterControlPlaneUpgrade",
	"BeforeWorkersUpgrade", "AfterWorkersUpgrade", "AfterClusterUpgrade", "CanUpdateMachine", "CanUpdateMachineSet", "UpdateMachine"}

// Fleet returns the objects of a generated management cluster, as a real one
// has them: the CAPI controllers' Deployments (with the RuntimeSDK and
// InPlaceUpdates gates on) and a runtime extension for every upgrade hook; per
// namespace a ClusterClass with patches and a variable; four Clusters in five
// use it, the fifth has no topology; each Cluster has 3 control plane Machines
// and MachineDeployments (and, one in four, a MachinePool) sharing the rest of
// the Machines.
func Fleet(spec FleetSpec, emit func(Objects) error) (machines int, err error) {
	if spec.Namespaces < 1 {
		spec.Namespaces = 1
	}
	perCluster := max(3, spec.Machines/max(1, spec.Clusters))
	const gates = "ClusterTopology=true,RuntimeSDK=true,InPlaceUpdates=true,MachinePool=true"
	if err := emit(Objects{
		Namespace("capi-system", nil),
		Controller(ControllerSpec{Namespace: "capi-system", Name: "capi-controller-manager", Provider: "cluster-api", Image: "registry.k8s.io/cluster-api/cluster-api-controller:v1.14.2", FeatureGates: gates}),
		Namespace("capi-kubeadm-control-plane-system", nil),
		Controller(ControllerSpec{Namespace: "capi-kubeadm-control-plane-system", Name: "capi-kubeadm-control-plane-controller-manager", Provider: "control-plane-kubeadm", Image: "registry.k8s.io/cluster-api/kubeadm-control-plane-controller:v1.14.2", FeatureGates: gates}),
		ExtensionConfig(ExtensionSpec{Name: "upgrade-extension", URL: "https://upgrade-extension.example:8443", Hooks: fleetHooks}),
	}); err != nil {
		return 0, err
	}
	for i := range spec.Namespaces {
		ns := fmt.Sprintf("team-%02d", i)
		objs := append(Objects{Namespace(ns, map[string]string{"team": ns})}, ClusterClass(ClassSpec{Namespace: ns, Name: "standard", Versions: fleetVersions, MachinePools: true, Patches: true, Variables: true})...)
		if err := emit(objs); err != nil {
			return machines, err
		}
	}
	for i := range spec.Clusters {
		ns := fmt.Sprintf("team-%02d", i%spec.Namespaces)
		version := fleetVersions[i%3]
		workers := perCluster - 3
		c := ClusterSpec{Namespace: ns, Name: fmt.Sprintf("cluster-%04d", i), ControlPlaneVersion: version, Replicas: 3, ClassPatches: true}
		if i%5 != 4 {
			// Two image repositories: patch evaluations are shared between the
			// Clusters of each, not of the whole class.
			c.Class, c.ImageRepository = "standard", fmt.Sprintf("registry-%d.example/k8s", i%2)
		}
		for md := 0; workers > 0; md++ {
			n := min(workers, 20)
			c.Workers = append(c.Workers, WorkerSpec{Name: fmt.Sprintf("md-%d", md), Version: version, Replicas: int32(n)})
			workers -= n
		}
		if i%4 == 0 && c.Class != "" {
			c.Workers = append(c.Workers, WorkerSpec{Name: "pool", Version: version, Replicas: 5, Pool: true})
		}
		objs := Cluster(c)
		for _, o := range objs {
			if o.GetObjectKind().GroupVersionKind().Kind == "Machine" {
				machines++
			}
		}
		if err := emit(objs); err != nil {
			return machines, err
		}
	}
	return machines, nil
}

// WriteFleet writes a generated management cluster as a YAML stream.
func WriteFleet(w io.Writer, spec FleetSpec) (machines int, err error) {
	bw := bufio.NewWriter(w)
	machines, err = Fleet(spec, func(objs Objects) error {
		for _, o := range objs {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
			if err != nil {
				return err
			}
			data, err := yaml.Marshal(m)
			if err != nil {
				return err
			}
			bw.WriteString("---\n")
			bw.Write(data)
		}
		return nil
	})
	if err != nil {
		return machines, err
	}
	return machines, bw.Flush()
}
