package realcapi

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fielddiff"
	"github.com/capi-planner/capi-planner/planner"
)

// The desired objects the topology controller writes at each step, against
// the ones the planner computed: the planner runs CAPI's desired-state code
// and the ClusterClass patches on its own, and names what changes for a
// step's Machines (Prediction.Differences). The observer reads what the real
// controller wrote (the KubeadmControlPlane's kubeadmConfigSpec, and the
// bootstrap and infrastructure templates the objects point to) when each
// step starts, and names the differences from the object's previous step the
// same way.

// machineSpecs is what an object's Machines are made from, keyed as
// fielddiff names the differences: "kubeadmConfig" (or "bootstrapConfig")
// and "infrastructureMachine", each with its spec.
func machineSpecs(ctx context.Context, c ctrlclient.Client, namespace, kind, name string) (map[string]any, error) {
	key := ctrlclient.ObjectKey{Namespace: namespace, Name: name}
	out := map[string]any{}
	template := func(ref clusterv1.ContractVersionedObjectReference, as string) error {
		if !ref.IsDefined() {
			return nil
		}
		m, err := c.RESTMapper().RESTMapping(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind})
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(m.GroupVersionKind)
		if err := c.Get(ctx, ctrlclient.ObjectKey{Namespace: namespace, Name: ref.Name}, u); err != nil {
			return err
		}
		spec, _, _ := unstructured.NestedFieldCopy(u.Object, "spec", "template", "spec")
		out[as] = map[string]any{"spec": spec}
		return nil
	}
	switch kind {
	case "KubeadmControlPlane":
		kcp := &controlplanev1.KubeadmControlPlane{}
		if err := c.Get(ctx, key, kcp); err != nil {
			return nil, err
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(kcp)
		if err != nil {
			return nil, err
		}
		spec, _, _ := unstructured.NestedFieldCopy(u, "spec", "kubeadmConfigSpec")
		out[fielddiff.BootstrapConfig("KubeadmConfig")] = map[string]any{"spec": spec}
		return out, template(kcp.Spec.MachineTemplate.Spec.InfrastructureRef, fielddiff.InfrastructureMachine)
	case "MachineDeployment":
		md := &clusterv1.MachineDeployment{}
		if err := c.Get(ctx, key, md); err != nil {
			return nil, err
		}
		b := md.Spec.Template.Spec.Bootstrap.ConfigRef
		if err := template(b, fielddiff.BootstrapConfig(b.Kind)); err != nil {
			return nil, err
		}
		return out, template(md.Spec.Template.Spec.InfrastructureRef, fielddiff.InfrastructureMachine)
	}
	return nil, fmt.Errorf("%s %s: no Machine templates known", kind, name)
}

// specDifferences names where two machineSpecs differ, as the plan does.
func specDifferences(before, after map[string]any) []string {
	var out []string
	for _, k := range []string{fielddiff.BootstrapConfig("KubeadmConfig"), fielddiff.BootstrapConfig(""), fielddiff.InfrastructureMachine} {
		out = append(out, fielddiff.Paths(before[k], after[k], k)...)
	}
	sort.Strings(out)
	return out
}

// predictedSpecDifferences are the differences of a change that the objects'
// specs show: not the version (on the object itself), nor the kubeadm feature
// gates that KCP sets on the KubeadmConfigs it creates.
func predictedSpecDifferences(ch planner.Change) []string {
	var out []string
	if ch.Prediction == nil {
		return nil
	}
	for _, d := range ch.Prediction.Differences {
		if d != planner.DiffVersion && d != planner.DiffKubeadmFeatureGates {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// compareDesired checks, for every change whose start the observer saw, the
// differences the real topology controller wrote against the plan's.
func (r *run) compareDesired(t testing.TB, plan *planner.ClusterPlan) {
	t.Helper()
	compared := 0
	defer func() {
		// A change whose start fell between two polls is left out; none
		// compared at all means the comparison did not run.
		if compared == 0 && len(plan.Steps) > 0 {
			t.Errorf("no change of the plan's %d steps had its desired objects compared: the observer saw none start", len(plan.Steps))
		}
	}()
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			got, seen := r.obs.specDifferences(ch)
			if !seen {
				t.Logf("step %d %s: its start was not seen, its desired objects not compared", s.Number, ch.Object)
				continue
			}
			compared++
			if want := predictedSpecDifferences(ch); !slices.Equal(got, want) {
				t.Errorf("step %d %s %s->%s: the topology controller changed [%s] for its Machines; the plan computed [%s]",
					s.Number, ch.Object, ch.From, ch.To, strings.Join(got, " "), strings.Join(want, " "))
				continue
			}
			t.Logf("step %d %s %s->%s: the Machine specs change as planned: [%s]", s.Number, ch.Object, ch.From, ch.To, strings.Join(got, " "))
		}
	}
}

// recordSpecs reads what the Machines of the plan's objects are made from
// before the upgrade: the base of each object's first change.
func (o *observer) recordSpecs(ctx context.Context, plan *planner.ClusterPlan) error {
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			obj := ch.Object.Kind + " " + ch.Object.Name
			if _, ok := o.specs[obj]; ok {
				continue
			}
			specs, err := machineSpecs(ctx, o.client, o.namespace, ch.Object.Kind, ch.Object.Name)
			if err != nil {
				return err
			}
			o.specs[obj] = specs
		}
	}
	return nil
}

// specsAtStart records, for a change that has just started, how its
// object's Machine specs differ from those at its previous change.
func (o *observer) specsAtStart(ctx context.Context, st *stepTimes, k stepKey) {
	specs, err := machineSpecs(ctx, o.client, o.namespace, st.kind, st.name)
	if err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if before, ok := o.specs[k.Object]; ok {
		o.specDiffs[k] = specDifferences(before, specs)
	}
	o.specs[k.Object] = specs
}

// specDifferences is what the topology controller changed in the Machine
// specs of a change, and whether its start was seen.
func (o *observer) specDifferences(ch planner.Change) ([]string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.specDiffs[stepKey{ch.Object.Kind + " " + ch.Object.Name, ch.From, ch.To}]
	return d, ok
}
