// Package topologypatch evaluates a topology Cluster's ClusterClass patches at
// chosen Kubernetes versions with CAPI's own patch engine
// (core/reconcilers/topology/cluster/patches), so that what a version step
// changes in the templates and the control plane is exactly what the topology
// controller will compute: the same request, builtin variables, inline JSON
// patches, external GeneratePatches calls and merge into the desired objects.
//
// The desired objects patches are applied to are built as the topology
// controller builds them (exp/topology/desiredstate): the ClusterClass templates
// named after the Cluster's current objects, the control plane and
// MachineDeployments at the requested versions. Patches overwrite their specs
// from the templates, so only the inputs of builtin variables matter; the
// differential test checks the result against CAPI's desired-state generator.
package topologypatch

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/core/reconcilers/topology/cluster/patches"
	runtimeclient "sigs.k8s.io/cluster-api/exp/runtime/client"
	"sigs.k8s.io/cluster-api/exp/topology/scope"

	"github.com/capi-planner/capi-planner/state"
)

// Versions are the versions to evaluate the patches at.
type Versions struct {
	// Topology is the Cluster's spec.topology.version (builtin.cluster.topology.version).
	Topology string
	// ControlPlane is the control plane's spec.version (builtin.controlPlane.version).
	ControlPlane string
	// MachineDeployments are versions by MachineDeployment name
	// (builtin.machineDeployment.version); the others stay at their current
	// version. Nil leaves the MachineDeployments out: inline patches patch each
	// template on its own, so the control plane's come out the same, for less.
	MachineDeployments map[string]string
}

func (v Versions) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s", v.Topology, v.ControlPlane)
	if v.MachineDeployments != nil {
		names := slices.Sorted(maps.Keys(v.MachineDeployments))
		b.WriteString("/workers")
		for _, name := range names {
			fmt.Fprintf(&b, "/%s=%s", name, v.MachineDeployments[name])
		}
	}
	return b.String()
}

// Evaluator evaluates one Cluster's ClusterClass patches.
type Evaluator struct {
	// shared, when set, shares control plane evaluations with other Clusters of
	// the ClusterClass; reads are the variable paths its patches read (nil: never shared).
	shared *Shared
	reads  []string

	st                                  *state.State
	hasExternal                         bool
	touchesControlPlane, touchesWorkers bool
	blueprint                           *scope.ClusterBlueprint
	current                             *scope.ClusterState
	engine                              patches.Engine
	results                             map[string]*scope.ClusterState
}

// Touches reports whether the ClusterClass's patches can change the templates
// of the control plane ("KubeadmControlPlane" or another control plane kind) or
// of MachineDeployments ("MachineDeployment"): an inline patch reaches a
// template only through its selector's matchResources, an external patch
// anywhere. When they cannot, there is nothing to evaluate for that kind.
func (e *Evaluator) Touches(kind string) bool {
	if kind == "MachineDeployment" {
		return e.touchesWorkers
	}
	return e.touchesControlPlane
}

func touches(cc *clusterv1.ClusterClass, kind string) bool {
	for _, p := range cc.Spec.Patches {
		if p.External != nil {
			return true
		}
		for _, d := range p.Definitions {
			m := d.Selector.MatchResources
			switch {
			case kind == "MachineDeployment" && m.MachineDeploymentClass != nil:
				return true
			case kind != "MachineDeployment" && ptr.Deref(m.ControlPlane, false):
				return true
			}
		}
	}
	return false
}

// New prepares the evaluation of cluster's patches from the state: its
// ClusterClass's templates, its control plane and MachineDeployments.
// runtimeClient calls external patches' extensions; without it (offline) a
// ClusterClass with external patches cannot be evaluated. shared, when not nil,
// shares control plane evaluations with the other Clusters of the plan.
func New(st *state.State, cluster *clusterv1.Cluster, cc *clusterv1.ClusterClass, runtimeClient runtimeclient.Client, shared *Shared) (*Evaluator, error) {
	hasExternal := false
	for _, p := range cc.Spec.Patches {
		hasExternal = hasExternal || p.External != nil
		if p.External != nil && runtimeClient == nil {
			return nil, fmt.Errorf("ClusterClass %s/%s: patch %q is external (its GeneratePatches extension is called by the topology controller) and cannot be evaluated offline: plan against the live management cluster", cc.Namespace, cc.Name, p.Name)
		}
	}
	b := &blueprintReader{st: st, cc: cc}
	bp := &scope.ClusterBlueprint{
		Topology:                      cluster.Spec.Topology,
		ClusterClass:                  cc,
		InfrastructureClusterTemplate: b.template(cc.Spec.Infrastructure.TemplateRef, "spec.infrastructure.templateRef"),
		ControlPlane: &scope.ControlPlaneBlueprint{
			Template: b.template(cc.Spec.ControlPlane.TemplateRef, "spec.controlPlane.templateRef"),
		},
		MachineDeployments: map[string]*scope.MachineDeploymentBlueprint{},
		MachinePools:       map[string]*scope.MachinePoolBlueprint{},
	}
	if bp.HasControlPlaneInfrastructureMachine() {
		bp.ControlPlane.InfrastructureMachineTemplate = b.template(cc.Spec.ControlPlane.MachineInfrastructure.TemplateRef, "spec.controlPlane.machineInfrastructure.templateRef")
	}
	for i, class := range cc.Spec.Workers.MachineDeployments {
		field := fmt.Sprintf("spec.workers.machineDeployments[%d]", i)
		bp.MachineDeployments[class.Class] = &scope.MachineDeploymentBlueprint{
			Metadata:                      class.Metadata,
			BootstrapTemplate:             b.template(class.Bootstrap.TemplateRef, field+".bootstrap.templateRef"),
			InfrastructureMachineTemplate: b.template(class.Infrastructure.TemplateRef, field+".infrastructure.templateRef"),
		}
	}
	if b.err != nil {
		return nil, b.err
	}

	current, err := currentState(st, cluster, bp)
	if err != nil {
		return nil, err
	}
	var reads []string
	if shared != nil {
		reads = shared.variableReads(cc)
	}
	return &Evaluator{
		shared:              shared,
		reads:               reads,
		touchesControlPlane: touches(cc, "KubeadmControlPlane"),
		touchesWorkers:      touches(cc, "MachineDeployment"),
		st:                  st,
		hasExternal:         hasExternal,
		blueprint:           bp,
		current:             current,
		engine:              patches.NewEngine(newCRDMetadataReader(st.CRDs), runtimeClient),
		results:             map[string]*scope.ClusterState{},
	}, nil
}

// blueprintReader looks up a ClusterClass's templates and keeps the first error.
type blueprintReader struct {
	st  *state.State
	cc  *clusterv1.ClusterClass
	err error
}

func (b *blueprintReader) template(ref clusterv1.ClusterClassTemplateReference, field string) *unstructured.Unstructured {
	if b.err != nil {
		return nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || ref.Kind == "" || ref.Name == "" {
		b.err = fmt.Errorf("ClusterClass %s/%s: %s is incomplete (apiVersion %q, kind %q, name %q)", b.cc.Namespace, b.cc.Name, field, ref.APIVersion, ref.Kind, ref.Name)
		return nil
	}
	t := b.st.Template(gv.WithKind(ref.Kind).GroupKind(), b.cc.Namespace, ref.Name)
	if t == nil {
		b.err = fmt.Errorf("ClusterClass %s/%s: its %s %s (%s) is not in the input, so its patches cannot be evaluated: add the ClusterClass's templates to the snapshot, or, if the management cluster does not hold it either, fix the ClusterClass", b.cc.Namespace, b.cc.Name, ref.Kind, ref.Name, field)
	}
	return t
}

// currentState holds the Cluster's objects the desired state is built from: the
// Cluster, its control plane and its MachineDeployments without their status,
// and the templates' names (taken from the objects that refer to them, as the
// topology controller keeps them until it rotates them).
func currentState(st *state.State, cluster *clusterv1.Cluster, bp *scope.ClusterBlueprint) (*scope.ClusterState, error) {
	cp := st.ControlPlane(cluster)
	if cp == nil {
		return nil, fmt.Errorf("the control plane %s of Cluster %s/%s is not in the input", cluster.Spec.ControlPlaneRef.Name, cluster.Namespace, cluster.Name)
	}
	// Desired objects have no status (and are copied for every evaluation).
	desiredCluster := &clusterv1.Cluster{TypeMeta: cluster.TypeMeta, ObjectMeta: *cluster.ObjectMeta.DeepCopy(), Spec: *cluster.Spec.DeepCopy()}
	desiredCluster.ManagedFields = nil
	desiredCP := &unstructured.Unstructured{Object: map[string]any{"apiVersion": cp.GetAPIVersion(), "kind": cp.GetKind(), "spec": runtime.DeepCopyJSONValue(cp.Object["spec"])}}
	desiredCP.SetName(cp.GetName())
	desiredCP.SetNamespace(cp.GetNamespace())
	desiredCP.SetLabels(cp.GetLabels())
	desiredCP.SetAnnotations(cp.GetAnnotations())
	cur := &scope.ClusterState{
		Cluster:               desiredCluster,
		InfrastructureCluster: fromTemplate(bp.InfrastructureClusterTemplate, cluster.Namespace, cluster.Spec.InfrastructureRef.Name),
		ControlPlane:          &scope.ControlPlaneState{Object: desiredCP},
		MachineDeployments:    scope.MachineDeploymentsStateMap{},
	}
	if bp.HasControlPlaneInfrastructureMachine() {
		name, _, _ := unstructured.NestedString(cp.Object, "spec", "machineTemplate", "spec", "infrastructureRef", "name")
		if name == "" {
			name, _, _ = unstructured.NestedString(cp.Object, "spec", "machineTemplate", "infrastructureRef", "name") // v1beta1 contract
		}
		cur.ControlPlane.InfrastructureMachineTemplate = renamed(bp.ControlPlane.InfrastructureMachineTemplate, cluster.Namespace, name)
	}
	for _, md := range st.MachineDeploymentsOf(cluster) {
		topologyName, ok := md.Labels[clusterv1.ClusterTopologyMachineDeploymentNameLabel]
		if !ok {
			continue // not managed by the topology
		}
		mdTopology := findMDTopology(cluster, topologyName)
		if mdTopology == nil {
			continue // being deleted by the topology controller
		}
		class, ok := bp.MachineDeployments[mdTopology.Class]
		if !ok {
			return nil, fmt.Errorf("the MachineDeployment topology %q of Cluster %s/%s uses class %q, which ClusterClass %s/%s does not define", topologyName, cluster.Namespace, cluster.Name, mdTopology.Class, bp.ClusterClass.Namespace, bp.ClusterClass.Name)
		}
		desiredMD := &clusterv1.MachineDeployment{TypeMeta: md.TypeMeta, ObjectMeta: md.ObjectMeta, Spec: md.Spec}
		desiredMD.ManagedFields = nil
		cur.MachineDeployments[topologyName] = &scope.MachineDeploymentState{
			Object:                        desiredMD,
			BootstrapTemplate:             renamed(class.BootstrapTemplate, md.Namespace, md.Spec.Template.Spec.Bootstrap.ConfigRef.Name),
			InfrastructureMachineTemplate: renamed(class.InfrastructureMachineTemplate, md.Namespace, md.Spec.Template.Spec.InfrastructureRef.Name),
		}
	}
	return cur, nil
}

func findMDTopology(cluster *clusterv1.Cluster, name string) *clusterv1.MachineDeploymentTopology {
	for i := range cluster.Spec.Topology.Workers.MachineDeployments {
		if t := &cluster.Spec.Topology.Workers.MachineDeployments[i]; t.Name == name {
			return t
		}
	}
	return nil
}

// renamed is a copy of a ClusterClass template under the name of the Cluster's
// own template (the topology controller's templateToTemplate; the spec is
// replaced by the patched one anyway).
func renamed(t *unstructured.Unstructured, namespace, name string) *unstructured.Unstructured {
	out := t.DeepCopy()
	out.SetNamespace(namespace)
	if name != "" {
		out.SetName(name)
	}
	out.SetResourceVersion("")
	out.SetUID("")
	out.SetManagedFields(nil)
	out.SetCreationTimestamp(metav1.Time{})
	return out
}

// fromTemplate is the object a template stamps out (templateToObject): kind
// without "Template", the template's spec.template.spec as spec.
func fromTemplate(t *unstructured.Unstructured, namespace, name string) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: map[string]any{}}
	out.SetAPIVersion(t.GetAPIVersion())
	out.SetKind(strings.TrimSuffix(t.GetKind(), "Template"))
	out.SetNamespace(namespace)
	out.SetName(name)
	if spec, ok, _ := unstructured.NestedFieldCopy(t.Object, "spec", "template", "spec"); ok {
		out.Object["spec"] = spec
	}
	return out
}

// At evaluates the patches at the given versions and returns the patched
// desired state: what ControlPlaneChange, MachineDeploymentChange and Drift
// read (the control plane's spec.kubeadmConfigSpec and the templates'
// spec.template.spec; when Shared supplies them, the rest of the control plane
// is the Cluster's own). Results are remembered: the steps of a plan share states.
func (e *Evaluator) At(ctx context.Context, v Versions) (*scope.ClusterState, error) {
	if _, err := logr.FromContext(ctx); err != nil {
		// CAPI's engine logs through the context's logger, else controller-runtime's global one.
		ctx = logr.NewContext(ctx, logr.Discard())
	}
	v = e.normalize(v)
	if s, ok := e.results[v.key()]; ok {
		return s, nil
	}
	desired, blueprint, err := e.desired(v)
	if err != nil {
		return nil, err
	}
	cc := e.blueprint.ClusterClass
	// Without MachineDeployments, what the patches make of the control plane may
	// be another Cluster's (Shared).
	var key string
	if len(desired.MachineDeployments) == 0 {
		if key, err = e.sharingKey(desired, blueprint); err != nil {
			return nil, fmt.Errorf("evaluating the patches of ClusterClass %s/%s at %s: %w", cc.Namespace, cc.Name, v.ControlPlane, err)
		}
		if r, ok := e.sharedResult(key); ok {
			if err := r.applyTo(desired); err != nil {
				return nil, err
			}
			e.results[v.key()] = desired
			return desired, nil
		}
	}
	if err := e.engine.Apply(ctx, blueprint, desired); err != nil {
		return nil, fmt.Errorf("evaluating the patches of ClusterClass %s/%s at %s: %w", cc.Namespace, cc.Name, v.ControlPlane, err)
	}
	if key != "" {
		e.shared.put(key, sharedFrom(desired))
	}
	e.results[v.key()] = desired
	return desired, nil
}

// normalize drops MachineDeployment versions equal to the current ones, so that
// equal states share one evaluation.
func (e *Evaluator) normalize(v Versions) Versions {
	if len(v.MachineDeployments) == 0 {
		return v
	}
	out := v
	out.MachineDeployments = map[string]string{}
	for name, version := range v.MachineDeployments {
		if !e.atCurrentVersion(name, version) {
			out.MachineDeployments[name] = version
		}
	}
	return out
}

func (e *Evaluator) atCurrentVersion(mdName, version string) bool {
	for _, md := range e.current.MachineDeployments {
		if md.Object.Name == mdName {
			return md.Object.Spec.Template.Spec.Version == version
		}
	}
	return false
}

func (e *Evaluator) sharedResult(key string) (sharedControlPlane, bool) {
	if key == "" {
		return sharedControlPlane{}, false
	}
	return e.shared.get(key)
}

// desired builds the desired objects at v, and a blueprint copy for the engine
// (which writes the desired objects' labels into the templates).
func (e *Evaluator) desired(v Versions) (*scope.ClusterState, *scope.ClusterBlueprint, error) {
	cur := e.current
	cluster := cur.Cluster.DeepCopy()
	cluster.Spec.Topology.Version = v.Topology
	cp := cur.ControlPlane.Object.DeepCopy()
	if err := unstructured.SetNestedField(cp.Object, v.ControlPlane, "spec", "version"); err != nil {
		return nil, nil, err
	}
	d := &scope.ClusterState{
		Cluster:               cluster,
		InfrastructureCluster: cur.InfrastructureCluster.DeepCopy(),
		ControlPlane:          &scope.ControlPlaneState{Object: cp},
		MachineDeployments:    scope.MachineDeploymentsStateMap{},
	}
	if t := cur.ControlPlane.InfrastructureMachineTemplate; t != nil {
		d.ControlPlane.InfrastructureMachineTemplate = t.DeepCopy()
	}
	// External patches see every template at once, so they always get all of them.
	if v.MachineDeployments != nil || e.hasExternal {
		for name, md := range cur.MachineDeployments {
			obj := md.Object.DeepCopy()
			if version, ok := v.MachineDeployments[obj.Name]; ok {
				obj.Spec.Template.Spec.Version = version
			}
			d.MachineDeployments[name] = &scope.MachineDeploymentState{
				Object:                        obj,
				BootstrapTemplate:             md.BootstrapTemplate.DeepCopy(),
				InfrastructureMachineTemplate: md.InfrastructureMachineTemplate.DeepCopy(),
			}
		}
	}
	bp := *e.blueprint
	bp.Topology = *cluster.Spec.Topology.DeepCopy()
	bp.InfrastructureClusterTemplate = e.blueprint.InfrastructureClusterTemplate.DeepCopy()
	bp.ControlPlane = &scope.ControlPlaneBlueprint{Template: e.blueprint.ControlPlane.Template.DeepCopy()}
	if t := e.blueprint.ControlPlane.InfrastructureMachineTemplate; t != nil {
		bp.ControlPlane.InfrastructureMachineTemplate = t.DeepCopy()
	}
	bp.MachineDeployments = map[string]*scope.MachineDeploymentBlueprint{}
	for class, md := range e.blueprint.MachineDeployments {
		bp.MachineDeployments[class] = &scope.MachineDeploymentBlueprint{
			Metadata:                      md.Metadata,
			BootstrapTemplate:             md.BootstrapTemplate.DeepCopy(),
			InfrastructureMachineTemplate: md.InfrastructureMachineTemplate.DeepCopy(),
		}
	}
	return d, &bp, nil
}
