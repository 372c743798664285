package topologypatch

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fielddiff"
)

// Drift is where a Cluster's objects do not carry what its ClusterClass and
// patches give at the current versions: a ClusterClass change the topology
// controller has not applied yet (the Cluster is paused, its reconcile fails, or
// the change is new). Differences are named as fielddiff names them.
type Drift struct {
	ControlPlane []string
	// MachineDeployments are by MachineDeployment name.
	MachineDeployments map[string][]string
}

// CurrentVersions are the versions the Cluster's objects are at now; the
// MachineDeployments are in only when patches select their templates (else the
// ClusterClass's templates are what they get).
func (e *Evaluator) CurrentVersions() Versions {
	v, _, _ := unstructured.NestedString(e.current.ControlPlane.Object.Object, "spec", "version")
	out := Versions{Topology: e.current.Cluster.Spec.Topology.Version, ControlPlane: v}
	if e.Touches("MachineDeployment") {
		out.MachineDeployments = map[string]string{}
	}
	return out
}

// Drift compares the Cluster's control plane and MachineDeployment templates
// with the desired state at the current versions. Only the fields the desired
// state sets are compared, as server-side apply sets only those: what the API
// server defaulted is not drift.
func (e *Evaluator) Drift(ctx context.Context) (Drift, error) {
	d := Drift{MachineDeployments: map[string][]string{}}
	desired, err := e.At(ctx, e.CurrentVersions())
	if err != nil {
		return d, err
	}
	cp := e.current.ControlPlane.Object
	if cp.GetKind() == "KubeadmControlPlane" {
		// Without a patch selecting it, the control plane gets its template's spec as it is.
		want, _, _ := unstructured.NestedFieldNoCopy(desired.ControlPlane.Object.Object, "spec", "kubeadmConfigSpec")
		if !e.touchesControlPlane {
			want, _, _ = unstructured.NestedFieldNoCopy(e.blueprint.ControlPlane.Template.Object, "spec", "template", "spec", "kubeadmConfigSpec")
		}
		have, _, _ := unstructured.NestedFieldNoCopy(cp.Object, "spec", "kubeadmConfigSpec")
		d.ControlPlane = fielddiff.NotCarried(want, have, fielddiff.BootstrapConfig("KubeadmConfig")+".spec")
	}
	if desired.ControlPlane.InfrastructureMachineTemplate != nil {
		ref := clusterv1.ContractVersionedObjectReference{}
		ref.Name, _, _ = unstructured.NestedString(cp.Object, "spec", "machineTemplate", "spec", "infrastructureRef", "name")
		ref.Kind, _, _ = unstructured.NestedString(cp.Object, "spec", "machineTemplate", "spec", "infrastructureRef", "kind")
		ref.APIGroup, _, _ = unstructured.NestedString(cp.Object, "spec", "machineTemplate", "spec", "infrastructureRef", "apiGroup")
		d.ControlPlane = append(d.ControlPlane, e.templateNotCarried(desired.ControlPlane.InfrastructureMachineTemplate, cp.GetNamespace(), ref, fielddiff.InfrastructureMachine+".spec")...)
	}
	for name, cur := range e.current.MachineDeployments {
		md := desired.MachineDeployments[name]
		if md == nil {
			md = cur // no patch selects it: the ClusterClass's templates, as they are
		}
		spec := cur.Object.Spec.Template.Spec
		diffs := e.templateNotCarried(md.BootstrapTemplate, cur.Object.Namespace, spec.Bootstrap.ConfigRef, fielddiff.BootstrapConfig(spec.Bootstrap.ConfigRef.Kind)+".spec")
		diffs = append(diffs, e.templateNotCarried(md.InfrastructureMachineTemplate, cur.Object.Namespace, spec.InfrastructureRef, fielddiff.InfrastructureMachine+".spec")...)
		if len(diffs) > 0 {
			d.MachineDeployments[cur.Object.Name] = diffs
		}
	}
	return d, nil
}

// templateNotCarried compares a desired template with the one ref names (not
// compared when that one was not read).
func (e *Evaluator) templateNotCarried(desired *unstructured.Unstructured, namespace string, ref clusterv1.ContractVersionedObjectReference, name string) []string {
	if desired == nil || !ref.IsDefined() {
		return nil
	}
	current := e.st.Template(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind}, namespace, ref.Name)
	if current == nil {
		return nil
	}
	return notCarried(desired, current, templateSpec, name)
}

func notCarried(desired, current *unstructured.Unstructured, path []string, name string) []string {
	want, _, _ := unstructured.NestedFieldNoCopy(desired.Object, path...)
	have, _, _ := unstructured.NestedFieldNoCopy(current.Object, path...)
	return fielddiff.NotCarried(want, have, name)
}
