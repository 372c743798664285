package planner

import (
	"context"

	"github.com/blang/semver/v4"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimecatalog "sigs.k8s.io/cluster-api/api/runtime/catalog"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimeclient "sigs.k8s.io/cluster-api/exp/runtime/client"
	"sigs.k8s.io/cluster-api/exp/topology/desiredstate"
	"sigs.k8s.io/cluster-api/exp/topology/scope"
	"sigs.k8s.io/cluster-api/util/version"
)

// capiPlan is CAPI's upgrade plan for one state of a Cluster, as the topology
// controller computes it on a reconcile.
type capiPlan struct {
	controlPlane []string
	workers      []string
	minWorkers   string
}

// computeCAPIPlan runs CAPI's own desiredstate.ComputeUpgradePlan (which picks the
// minimum worker version, calls the plan function and DefaultAndValidateUpgradePlans)
// on a scope holding just the versions the plan depends on.
func computeCAPIPlan(ctx context.Context, desired, controlPlane string, mds, mps []*simWorker, planFn desiredstate.GetUpgradePlanFunc) (capiPlan, error) {
	s := scope.New(&clusterv1.Cluster{})
	s.Blueprint.Topology.Version = desired
	s.Current.ControlPlane = &scope.ControlPlaneState{Object: &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"version": controlPlane},
	}}}
	s.Current.MachineDeployments = scope.MachineDeploymentsStateMap{}
	for _, w := range mds {
		md := &clusterv1.MachineDeployment{}
		md.Name = w.ref.Name
		md.Spec.Template.Spec.Version = w.version
		s.Current.MachineDeployments[w.key()] = &scope.MachineDeploymentState{Object: md}
	}
	s.Current.MachinePools = scope.MachinePoolsStateMap{}
	for _, w := range mps {
		mp := &clusterv1.MachinePool{}
		mp.Name = w.ref.Name
		mp.Spec.Template.Spec.Version = w.version
		s.Current.MachinePools[w.key()] = &scope.MachinePoolState{Object: mp}
	}
	if err := desiredstate.ComputeUpgradePlan(ctx, s, planFn); err != nil {
		return capiPlan{}, err
	}
	p := capiPlan{controlPlane: s.UpgradeTracker.ControlPlane.UpgradePlan, minWorkers: s.UpgradeTracker.MinWorkersVersion}
	// MachineDeployments and MachinePools get the same workers plan (upgrade_plan.go:124-134).
	p.workers = s.UpgradeTracker.MachineDeployments.UpgradePlan
	if len(p.workers) == 0 {
		p.workers = s.UpgradeTracker.MachinePools.UpgradePlan
	}
	return p, nil
}

// planFunction returns CAPI's plan function for a version source.
func (p *clusterPlanner) planFunction(src VersionSource) desiredstate.GetUpgradePlanFunc {
	switch {
	case src.Type == SourceExtension && p.opts.RuntimeClient != nil:
		rc := callMarkingClient{p.opts.RuntimeClient}
		return desiredstate.GetUpgradePlanFromExtension(rc, p.extensionCache, p.cluster, src.Name)
	case src.Type == SourceOneMinor:
		return desiredstate.GetUpgradePlanOneMinor
	}
	// A ClusterClass list, a catalog, user versions, or user versions standing in
	// for an extension: CAPI's list-based function picks the latest patch of every
	// intermediate minor and exactly the target for the last one.
	return desiredstate.GetUpgradePlanFromClusterClassVersions(src.Versions)
}

// parseVersion parses a Kubernetes version the way CAPI does (tolerant of a "v" prefix).
func parseVersion(v string) (semver.Version, error) {
	return semver.ParseTolerant(v)
}

// compareVersions compares like CAPI's version.Compare with build tags:
// -1, 0, 1, or 2 when the versions differ only in incomparable build tags.
func compareVersions(a, b semver.Version) int {
	return version.Compare(a, b, version.WithBuildTags())
}

// callMarkingClient marks the errors of extension calls, so that a failing
// extension is told apart from an answer CAPI's validation refuses.
type callMarkingClient struct{ runtimeclient.Client }

// CallExtension calls the extension and marks its error.
func (c callMarkingClient) CallExtension(ctx context.Context, hook runtimecatalog.Hook, forObject ctrlclient.Object, name string, request runtimehooksv1.RequestObject, response runtimehooksv1.ResponseObject, opts ...runtimeclient.CallExtensionOption) error {
	if err := c.Client.CallExtension(ctx, hook, forObject, name, request, response, opts...); err != nil {
		return extensionCallError{err}
	}
	return nil
}

type extensionCallError struct{ error }

func (e extensionCallError) Unwrap() error { return e.error }
