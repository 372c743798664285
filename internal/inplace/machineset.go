// Package inplace asks a management cluster's in-place update extension whether it
// can update Machines in place, building the requests the way CAPI's controllers
// build them and judging the answers the way they judge them.
package inplace

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	"sigs.k8s.io/cluster-api/core/reconcilers/machinedeployment/mdutil"
	runtimeclient "sigs.k8s.io/cluster-api/exp/runtime/client"

	"github.com/capi-planner/capi-planner/internal/fielddiff"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/state"
)

// Checker asks extensions through a runtime client.
type Checker struct {
	State   *state.State
	Runtime runtimeclient.Client
	// Client reads and dry-runs objects of the live management cluster (CanUpdateMachine).
	Client ctrlclient.Client
	Now    time.Time
}

// specPath is where extensions may patch (spec.template.spec), as CAPI restricts it.
var specPath = []string{"spec", "template", "spec"}

// CanUpdateMachineSet asks the handler whether the MachineDeployment's current
// MachineSet can be updated in place to version, as the MachineDeployment
// controller asks it (machinedeployment_canupdatemachineset.go): the current
// MachineSet and templates, and the desired ones (the MachineDeployment's template,
// with any change pending in it, at the new version), cleaned the same way; the
// answer's patches are applied to the current objects, which must then equal the
// desired ones. It returns the differences that remain (none: all covered).
func (c *Checker) CanUpdateMachineSet(ctx context.Context, handler string, md *clusterv1.MachineDeployment, version string, templates planner.TemplateChanges) ([]string, error) {
	// The current MachineSet is the one holding the Machines: the up-to-date one, or,
	// when a change is pending in the MachineDeployment, the active old one.
	upToDate, old, _, _ := mdutil.FindNewAndOldMachineSets(md, c.State.MachineSetsOf(md), metav1.NewTime(c.Now))
	oldMS := mdutil.FindOneActiveOrLatest(upToDate, old)
	if oldMS == nil {
		return nil, fmt.Errorf("%s/%s has no MachineSet to ask about", md.Namespace, md.Name)
	}
	newMS := oldMS.DeepCopy()
	newMS.Name = md.Name + "-" + nameSuffix(version)
	newMS.Spec.Template = *md.Spec.Template.DeepCopy()
	newMS.Spec.Template.Spec.Version = version

	req := &runtimehooksv1.CanUpdateMachineSetRequest{
		Current: runtimehooksv1.CanUpdateMachineSetRequestObjects{MachineSet: *cleanMachineSet(oldMS)},
		Desired: runtimehooksv1.CanUpdateMachineSetRequestObjects{MachineSet: *cleanMachineSet(newMS)},
	}
	var err error
	for _, t := range []struct {
		ref    clusterv1.ContractVersionedObjectReference
		target *runtime.RawExtension
		// change is what ClusterClass patches change in the desired template (rotating it).
		change []byte
	}{
		{oldMS.Spec.Template.Spec.InfrastructureRef, &req.Current.InfrastructureMachineTemplate, nil},
		{newMS.Spec.Template.Spec.InfrastructureRef, &req.Desired.InfrastructureMachineTemplate, templates.Infrastructure},
		{oldMS.Spec.Template.Spec.Bootstrap.ConfigRef, &req.Current.BootstrapConfigTemplate, nil},
		{newMS.Spec.Template.Spec.Bootstrap.ConfigRef, &req.Desired.BootstrapConfigTemplate, templates.Bootstrap},
	} {
		if !t.ref.IsDefined() {
			continue
		}
		var tmpl *unstructured.Unstructured
		if t.change != nil {
			tmpl, err = c.rotated(oldMS.Namespace, t.ref, version, t.change)
		} else {
			tmpl, err = c.template(oldMS.Namespace, t.ref)
		}
		if err != nil {
			return nil, err
		}
		if *t.target, err = rawExtension(cleanUnstructured(tmpl)); err != nil {
			return nil, err
		}
	}
	if (req.Current.BootstrapConfigTemplate.Raw == nil) != (req.Desired.BootstrapConfigTemplate.Raw == nil) {
		return []string{"spec.bootstrap"}, nil // CAPI: a bootstrap template added or removed is never in place
	}

	resp := &runtimehooksv1.CanUpdateMachineSetResponse{}
	if err = c.Runtime.CallExtension(ctx, runtimehooksv1.CanUpdateMachineSet, oldMS, handler, req, resp); err != nil {
		return nil, err
	}
	current, err := toMap(req.Current.MachineSet)
	if err != nil {
		return nil, err
	}
	if current, err = applyPatch(current, resp.MachineSetPatch, specPath...); err != nil {
		return nil, fmt.Errorf("applying the machineSetPatch of %s: %w", handler, err)
	}
	desired, err := toMap(req.Desired.MachineSet)
	if err != nil {
		return nil, err
	}
	diffs := diffMachineSpecs(current, desired)
	for _, t := range []patchedObject{
		{fielddiff.InfrastructureMachine, req.Current.InfrastructureMachineTemplate, req.Desired.InfrastructureMachineTemplate, resp.InfrastructureMachineTemplatePatch},
		{fielddiff.BootstrapConfig(oldMS.Spec.Template.Spec.Bootstrap.ConfigRef.Kind), req.Current.BootstrapConfigTemplate, req.Desired.BootstrapConfigTemplate, resp.BootstrapConfigTemplatePatch},
	} {
		if t.current.Raw == nil {
			continue
		}
		d, err := t.diff(handler, specPath...)
		if err != nil {
			return nil, err
		}
		diffs = append(diffs, d...)
	}
	sort.Strings(diffs)
	return diffs, nil
}

func (c *Checker) template(ns string, ref clusterv1.ContractVersionedObjectReference) (*unstructured.Unstructured, error) {
	t := c.State.Template(ref.GroupKind(), ns, ref.Name)
	if t == nil {
		return nil, fmt.Errorf("%s %s/%s was not read, so the request cannot be built", ref.Kind, ns, ref.Name)
	}
	return t, nil
}

// cleanMachineSet keeps what CAPI sends: name, namespace, labels, annotations and spec.
func cleanMachineSet(ms *clusterv1.MachineSet) *clusterv1.MachineSet {
	return &clusterv1.MachineSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachineSet"},
		ObjectMeta: metav1.ObjectMeta{Name: ms.Name, Namespace: ms.Namespace, Labels: ms.Labels, Annotations: ms.Annotations},
		Spec:       *ms.Spec.DeepCopy(),
	}
}

// cleanUnstructured keeps apiVersion, kind, name, namespace, labels, annotations and spec.
func cleanUnstructured(u *unstructured.Unstructured) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "spec": u.Object["spec"]}}
	out.SetName(u.GetName())
	out.SetNamespace(u.GetNamespace())
	out.SetLabels(u.GetLabels())
	out.SetAnnotations(u.GetAnnotations())
	return out
}

func rawExtension(u *unstructured.Unstructured) (runtime.RawExtension, error) {
	raw, err := u.MarshalJSON()
	return runtime.RawExtension{Raw: raw, Object: u}, err
}

func toMap(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	return m, json.Unmarshal(raw, &m)
}

// applyPatch applies an extension's patch and keeps only its changes under path
// (spec.template.spec for MachineSets and templates, spec for Machines), as CAPI does.
func applyPatch(obj map[string]any, p runtimehooksv1.Patch, path ...string) (map[string]any, error) {
	if !p.IsDefined() {
		return obj, nil
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var patched []byte
	switch p.PatchType {
	case runtimehooksv1.JSONPatchType:
		jp, err := jsonpatch.DecodePatch(p.Patch)
		if err != nil {
			return nil, fmt.Errorf("decoding a JSON patch (RFC 6902): %w", err)
		}
		if patched, err = jp.Apply(raw); err != nil {
			return nil, fmt.Errorf("applying a JSON patch (RFC 6902): %w", err)
		}
	case runtimehooksv1.JSONMergePatchType:
		if patched, err = jsonpatch.MergePatch(raw, p.Patch); err != nil {
			return nil, fmt.Errorf("applying a JSON merge patch (RFC 7386): %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown patchType %q", p.PatchType)
	}
	out := map[string]any{}
	if err := json.Unmarshal(patched, &out); err != nil {
		return nil, err
	}
	spec, found, err := unstructured.NestedFieldCopy(out, path...)
	if err != nil {
		return nil, err
	}
	if !found {
		unstructured.RemoveNestedField(obj, path...)
		return obj, nil
	}
	return obj, unstructured.SetNestedField(obj, spec, path...)
}

// diffMachineSpecs compares MachineSet spec.template.spec the way CAPI does, and
// names the differences as fields of the Machines' spec.
func diffMachineSpecs(current, desired map[string]any) []string {
	cur, _, _ := unstructured.NestedMap(current, specPath...)
	des, _, _ := unstructured.NestedMap(desired, specPath...)
	return fielddiff.Paths(cleanMachineSpec(cur), cleanMachineSpec(des), "spec")
}

// cleanMachineSpec leaves out of a Machine spec the fields that never cause an
// in-place update, as CAPI's inplace.CleanupMachineSpecForDiff does.
func cleanMachineSpec(v any) map[string]any {
	spec, _ := v.(map[string]any)
	if spec == nil {
		return map[string]any{}
	}
	spec = runtime.DeepCopyJSON(spec)
	for _, f := range []string{"clusterName", "bootstrap", "infrastructureRef", "providerID", "minReadySeconds", "readinessGates", "taints"} {
		delete(spec, f)
	}
	if del, ok := spec["deletion"].(map[string]any); ok {
		for _, f := range []string{"nodeDrainTimeoutSeconds", "nodeVolumeDetachTimeoutSeconds", "nodeDeletionTimeoutSeconds"} {
			delete(del, f)
		}
		if len(del) == 0 {
			delete(spec, "deletion")
		}
	}
	return spec
}

// patchedObject is one object of a request: current and desired as sent, and
// the extension's patch for it; name prefixes its differences (see fielddiff).
type patchedObject struct {
	name             string
	current, desired runtime.RawExtension
	patch            runtimehooksv1.Patch
}

// diff applies the patch to the current object under path and lists where it
// still differs from the desired one.
func (o patchedObject) diff(handler string, path ...string) ([]string, error) {
	cur, des := map[string]any{}, map[string]any{}
	if err := json.Unmarshal(o.current.Raw, &cur); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(o.desired.Raw, &des); err != nil {
		return nil, err
	}
	cur, err := applyPatch(cur, o.patch, path...)
	if err != nil {
		return nil, fmt.Errorf("applying the %s patch of %s: %w", o.name, handler, err)
	}
	curField, _, _ := unstructured.NestedFieldNoCopy(cur, path...)
	desField, _, _ := unstructured.NestedFieldNoCopy(des, path...)
	// A template's spec.template.spec is what its Machines' objects get as spec.
	return fielddiff.Paths(curField, desField, o.name+".spec"), nil
}
