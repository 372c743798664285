package inplace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	"sigs.k8s.io/cluster-api/controllers/external"
	kcppkg "sigs.k8s.io/cluster-api/controlplane/kubeadm/pkg"

	"github.com/capi-planner/capi-planner/internal/fielddiff"
	"github.com/capi-planner/capi-planner/planner"
)

// kcpManager is the field manager KubeadmControlPlane applies Machines with.
const kcpManager = "capi-kubeadmcontrolplane"

// CanUpdateMachine asks the handler whether the control plane Machines can be
// updated in place to version, as KubeadmControlPlane asks it
// (inplace_canupdatemachine.go), for each Machine it would update in place (not
// those marked for deletion or remediation): CAPI's own pkg.UpToDate computes
// the desired Machine, KubeadmConfig and InfraMachine for the
// KubeadmControlPlane at the new version, with what ClusterClass patches change
// at that step; the Machine and InfraMachines are defaulted by
// server-side-apply dry runs, the KubeadmConfigs normalised by
// PrepareKubeadmConfigsForDiff; the answer's patches are applied to the current
// objects, which must then equal the desired ones. It returns, by Machine, the
// differences that remain. It needs Client.
func (c *Checker) CanUpdateMachine(ctx context.Context, handler string, cluster *clusterv1.Cluster, kcp *controlplanev1.KubeadmControlPlane, version string, templates planner.TemplateChanges) (map[string][]string, error) {
	if c.Client == nil {
		return nil, errors.New("asking CanUpdateMachine needs a live management cluster")
	}
	machines := c.candidates(kcp)
	if len(machines) == 0 {
		return nil, fmt.Errorf("%s/%s has no Machine to ask about", kcp.Namespace, kcp.Name)
	}
	desiredKCP := kcp.DeepCopy()
	desiredKCP.Spec.Version = version
	// What ClusterClass patches change at this step: the topology controller
	// patches the KubeadmControlPlane and rotates its InfraMachineTemplate.
	if templates.KubeadmConfigSpec != nil {
		if err := mergeIntoTyped(&desiredKCP.Spec.KubeadmConfigSpec, templates.KubeadmConfigSpec); err != nil {
			return nil, fmt.Errorf("KubeadmControlPlane %s/%s spec.kubeadmConfigSpec: %w", kcp.Namespace, kcp.Name, err)
		}
	}
	reader := c.Client
	if templates.Infrastructure != nil {
		ref := &desiredKCP.Spec.MachineTemplate.Spec.InfrastructureRef
		next, err := c.rotated(kcp.Namespace, *ref, version, templates.Infrastructure)
		if err != nil {
			return nil, err
		}
		ref.Name = next.GetName()
		reader = c.serving(next)
	}
	out := map[string][]string{}
	for _, m := range machines {
		nc, err := c.canUpdateMachine(ctx, handler, cluster, desiredKCP, reader, m)
		if err != nil {
			return nil, fmt.Errorf("asking about Machine %s: %w", m.Name, err)
		}
		out[m.Name] = nc
	}
	return out, nil
}

// canUpdateMachine asks about one Machine (see CanUpdateMachine); reader reads
// the templates the desired KubeadmControlPlane refers to.
func (c *Checker) canUpdateMachine(ctx context.Context, handler string, cluster *clusterv1.Cluster, desiredKCP *controlplanev1.KubeadmControlPlane, reader ctrlclient.Client, machine *clusterv1.Machine) ([]string, error) {
	kubeadmConfig := &bootstrapv1.KubeadmConfig{}
	if err := c.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: machine.Namespace, Name: machine.Spec.Bootstrap.ConfigRef.Name}, kubeadmConfig); err != nil {
		return nil, fmt.Errorf("reading the KubeadmConfig of Machine %s: %w", machine.Name, err)
	}
	infraMachine, err := external.GetObjectFromContractVersionedRef(ctx, c.Client, machine.Spec.InfrastructureRef, machine.Namespace)
	if err != nil {
		return nil, fmt.Errorf("reading the %s of Machine %s: %w", machine.Spec.InfrastructureRef.Kind, machine.Name, err)
	}
	now := metav1.NewTime(c.Now)
	_, res, err := kcppkg.UpToDate(ctx, reader, cluster, machine, desiredKCP, &now,
		map[string]*unstructured.Unstructured{machine.Name: infraMachine}, map[string]*bootstrapv1.KubeadmConfig{machine.Name: kubeadmConfig})
	if err != nil {
		return nil, err
	}
	if res.DesiredMachine == nil || res.CurrentInfraMachine == nil || res.DesiredInfraMachine == nil || res.CurrentKubeadmConfig == nil || res.DesiredKubeadmConfig == nil {
		// KCP cannot compare such a Machine, so it never updates it in place.
		return []string{"KCP cannot compute the current and desired objects of Machine " + machine.Name + " (for example its InfraMachine lacks the cloned-from annotations)"}, nil
	}

	currentKC, desiredKC := res.CurrentKubeadmConfig.DeepCopy(), res.DesiredKubeadmConfig.DeepCopy()
	currentInfra, desiredInfra := res.CurrentInfraMachine.DeepCopy(), res.DesiredInfraMachine.DeepCopy()
	desiredMachine := res.DesiredMachine.DeepCopy()
	// In-place mutable metadata is synced by KCP, not by the in-place update.
	currentKC.SetLabels(desiredKC.GetLabels())
	currentKC.SetAnnotations(desiredKC.GetAnnotations())
	currentInfra.SetLabels(desiredInfra.GetLabels())
	currentInfra.SetAnnotations(desiredInfra.GetAnnotations())
	desiredMachineU, err := c.dryRunApply(ctx, desiredMachine)
	if err != nil {
		return nil, fmt.Errorf("server-side apply dry run of the desired Machine: %w", err)
	}
	for _, u := range []*unstructured.Unstructured{currentInfra, desiredInfra} {
		applied, err := c.dryRunApply(ctx, u)
		if err != nil {
			// As KCP: an InfraMachine the API server refuses cannot be updated in place.
			return []string{fmt.Sprintf("server-side apply dry run of the %s failed: %v", u.GetKind(), err)}, nil
		}
		*u = *applied
	}
	desiredKC, currentKC = kcppkg.PrepareKubeadmConfigsForDiff(desiredKC, currentKC, true)

	req := &runtimehooksv1.CanUpdateMachineRequest{}
	req.Current.Machine = *cleanMachine(machine)
	desiredTyped := &clusterv1.Machine{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(desiredMachineU.Object, desiredTyped); err != nil {
		return nil, err
	}
	req.Desired.Machine = *cleanMachine(desiredTyped)
	for _, o := range []struct {
		obj    any
		target *runtime.RawExtension
	}{
		{cleanKubeadmConfig(currentKC), &req.Current.BootstrapConfig},
		{cleanKubeadmConfig(desiredKC), &req.Desired.BootstrapConfig},
		{cleanUnstructured(currentInfra), &req.Current.InfrastructureMachine},
		{cleanUnstructured(desiredInfra), &req.Desired.InfrastructureMachine},
	} {
		raw, err := json.Marshal(o.obj)
		if err != nil {
			return nil, err
		}
		*o.target = runtime.RawExtension{Raw: raw}
	}

	resp := &runtimehooksv1.CanUpdateMachineResponse{}
	if err := c.Runtime.CallExtension(ctx, runtimehooksv1.CanUpdateMachine, machine, handler, req, resp); err != nil {
		return nil, err
	}
	current, err := toMap(req.Current.Machine)
	if err != nil {
		return nil, err
	}
	if current, err = applyPatch(current, resp.MachinePatch, "spec"); err != nil {
		return nil, fmt.Errorf("applying the machinePatch of %s: %w", handler, err)
	}
	desired, err := toMap(req.Desired.Machine)
	if err != nil {
		return nil, err
	}
	diffs := fielddiff.Paths(cleanMachineSpec(current["spec"]), cleanMachineSpec(desired["spec"]), "spec")
	for _, t := range []patchedObject{
		{fielddiff.BootstrapConfig("KubeadmConfig"), req.Current.BootstrapConfig, req.Desired.BootstrapConfig, resp.BootstrapConfigPatch},
		{fielddiff.InfrastructureMachine, req.Current.InfrastructureMachine, req.Desired.InfrastructureMachine, resp.InfrastructureMachinePatch},
	} {
		d, err := t.diff(handler, "spec")
		if err != nil {
			return nil, err
		}
		diffs = append(diffs, d...)
	}
	sort.Strings(diffs)
	return diffs, nil
}

// candidates are the control plane Machines KCP would update in place: not
// marked for deletion or remediation (those are replaced), by name.
func (c *Checker) candidates(kcp *controlplanev1.KubeadmControlPlane) []*clusterv1.Machine {
	var candidates []*clusterv1.Machine
	for _, m := range c.State.ControlPlaneMachines(kcp.Namespace, kcp.Name) {
		_, del := m.Annotations[clusterv1.DeleteMachineAnnotation]
		_, rem := m.Annotations[clusterv1.RemediateMachineAnnotation]
		if !del && !rem {
			candidates = append(candidates, m)
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].Name < candidates[j].Name })
	return candidates
}

// dryRunApply applies obj as KubeadmControlPlane would, without persisting it, and
// returns what the API server made of it (defaults, fields others own).
func (c *Checker) dryRunApply(ctx context.Context, obj runtime.Object) (*unstructured.Unstructured, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		u = &unstructured.Unstructured{}
		if err := c.Client.Scheme().Convert(obj, u, nil); err != nil {
			return nil, err
		}
	}
	// Keep what KCP has opinions on, as CAPI's ssa.PrepareModified does.
	kept := &unstructured.Unstructured{Object: map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "spec": u.Object["spec"]}}
	kept.SetName(u.GetName())
	kept.SetNamespace(u.GetNamespace())
	kept.SetUID(u.GetUID())
	kept.SetLabels(u.GetLabels())
	kept.SetAnnotations(u.GetAnnotations())
	kept.SetFinalizers(u.GetFinalizers())
	kept.SetOwnerReferences(u.GetOwnerReferences())
	if err := c.Client.Apply(ctx, ctrlclient.ApplyConfigurationFromUnstructured(kept), ctrlclient.ForceOwnership, ctrlclient.FieldOwner(kcpManager), ctrlclient.DryRunAll); err != nil {
		return nil, err
	}
	return kept, nil
}

func cleanMachine(m *clusterv1.Machine) *clusterv1.Machine {
	return &clusterv1.Machine{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "Machine"},
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, Labels: m.Labels, Annotations: m.Annotations},
		Spec:       *m.Spec.DeepCopy(),
	}
}

func cleanKubeadmConfig(kc *bootstrapv1.KubeadmConfig) *bootstrapv1.KubeadmConfig {
	return &bootstrapv1.KubeadmConfig{
		TypeMeta:   metav1.TypeMeta{APIVersion: bootstrapv1.GroupVersion.String(), Kind: "KubeadmConfig"},
		ObjectMeta: metav1.ObjectMeta{Name: kc.Name, Namespace: kc.Namespace, Labels: kc.Labels, Annotations: kc.Annotations},
		Spec:       *kc.Spec.DeepCopy(),
	}
}
