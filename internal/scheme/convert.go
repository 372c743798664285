package scheme

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/conversion"

	kcpconversion "sigs.k8s.io/cluster-api/controlplane/kubeadm/webhooks/conversion"
	coreconversion "sigs.k8s.io/cluster-api/core/webhooks/conversion"
)

// Converter converts CAPI objects between their served versions with the very
// converters CAPI's conversion webhooks run (core/webhooks/conversion and
// controlplane/kubeadm/webhooks/conversion), so that a v1beta1 object reads
// exactly as the API server would serve it in v1beta2.
type Converter struct {
	scheme *runtime.Scheme
	byKind map[schema.GroupKind]conversion.Converter
}

// NewConverter returns a Converter for the kinds capi-planner reads.
func NewConverter(s *runtime.Scheme) (*Converter, error) {
	c := &Converter{scheme: s, byKind: map[schema.GroupKind]conversion.Converter{}}
	for gk, newConverter := range map[schema.GroupKind]func(*runtime.Scheme) (conversion.Converter, error){
		{Group: "cluster.x-k8s.io", Kind: "Cluster"}:                          coreconversion.Cluster,
		{Group: "cluster.x-k8s.io", Kind: "ClusterClass"}:                     coreconversion.ClusterClass,
		{Group: "cluster.x-k8s.io", Kind: "MachineDeployment"}:                coreconversion.MachineDeployment,
		{Group: "cluster.x-k8s.io", Kind: "MachineSet"}:                       coreconversion.MachineSet,
		{Group: "cluster.x-k8s.io", Kind: "MachinePool"}:                      coreconversion.MachinePool,
		{Group: "cluster.x-k8s.io", Kind: "Machine"}:                          coreconversion.Machine,
		{Group: "runtime.cluster.x-k8s.io", Kind: "ExtensionConfig"}:          coreconversion.ExtensionConfig,
		{Group: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane"}: kcpconversion.KubeadmControlPlane,
	} {
		conv, err := newConverter(s)
		if err != nil {
			return nil, fmt.Errorf("building the %s converter: %w", gk, err)
		}
		c.byKind[gk] = conv
	}
	return c, nil
}

// Convert converts src into dst (typed objects of the same kind in two versions).
func (c *Converter) Convert(ctx context.Context, src, dst runtime.Object) error {
	for _, o := range []runtime.Object{src, dst} {
		gvks, _, err := c.scheme.ObjectKinds(o)
		if err != nil {
			return err
		}
		o.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	gk := dst.GetObjectKind().GroupVersionKind().GroupKind()
	conv, ok := c.byKind[gk]
	if !ok {
		return fmt.Errorf("no converter for %s", gk)
	}
	return conv.ConvertObject(ctx, src, dst)
}

// UseHubVersionForReferences makes hub-to-spoke conversions (v1beta2 to v1beta1)
// write object references with <group>/v1beta2 apiVersions instead of asking an
// API server for the served version. Only tools that write v1beta1 need it.
func UseHubVersionForReferences() {
	getter := func(_ context.Context, gk schema.GroupKind) (string, error) { return gk.Group + "/v1beta2", nil }
	coreconversion.SetAPIVersionGetter(getter)
	kcpconversion.SetAPIVersionGetter(getter)
}
