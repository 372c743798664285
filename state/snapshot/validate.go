package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	kcpadmission "sigs.k8s.io/cluster-api/controlplane/kubeadm/webhooks/admission"
	coreadmission "sigs.k8s.io/cluster-api/core/webhooks/admission"

	"github.com/capi-planner/capi-planner/state/snapshot/crdschema"
)

// invalidError is an object the API server would refuse, or planning cannot use;
// path is the field of the first problem, as the API server writes it
// (spec.template.spec.bootstrap, spec.topology.workers.machineDeployments[md-0].replicas),
// so that the reader can point at its line.
type invalidError struct {
	path string
	msg  string
}

func (e *invalidError) Error() string { return e.msg }

// validate checks an object read from a file as the API server would have on
// create: raw against the OpenAPI schema of its CRD in the version it is written
// in (after the schema's defaults, with the API server's own validation code),
// then the v1beta2 object obj with CAPI's admission webhooks, where they run
// without a client. Objects read live are not checked again: the API server and
// the webhooks checked them when they were written.
func validate(gvk schema.GroupVersionKind, raw []byte, obj runtime.Object) error {
	if crdschema.Known(gvk) {
		var u map[string]any
		if err := utiljson.Unmarshal(raw, &u); err != nil {
			return fmt.Errorf("cannot decode: %v", err)
		}
		errs, err := crdschema.Validate(gvk, u)
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			problems := make([]problem, 0, len(errs))
			for _, e := range errs {
				msg := e.ErrorBody()
				if e.Type == field.ErrorTypeRequired && e.Detail == "" {
					msg = "missing, and the schema requires it"
				}
				problems = append(problems, problem{e.Field, msg})
			}
			return invalid(problems, fmt.Sprintf("the API server refuses this object: it does not match the schema of the %s CRD, version %s (from %s); correct the field, or export the object again with kubectl get -o yaml",
				gvk.Kind, gvk.Version, crdschema.Source()))
		}
	}
	if webhook, err := admit(obj); err != nil {
		var status *apierrors.StatusError
		if !errors.As(err, &status) || status.ErrStatus.Details == nil || len(status.ErrStatus.Details.Causes) == 0 {
			return fmt.Errorf("%s refuses this object: %v", webhook, err)
		}
		var problems []problem
		for _, c := range status.ErrStatus.Details.Causes {
			problems = append(problems, problem{c.Field, c.Message})
		}
		return invalid(problems, webhook+" refuses this object on create: correct the field")
	}
	return nonNegativeCounts(obj)
}

// problem is one field the API server or a webhook refuses, and what it says.
type problem struct{ field, msg string }

// invalid describes the first problem and names the fields of the others.
func invalid(problems []problem, why string) error {
	first := problems[0]
	msg := fmt.Sprintf("field %s: %s", first.field, first.msg)
	if len(problems) > 1 {
		more := make([]string, 0, len(problems)-1)
		for _, p := range problems[1:] {
			more = append(more, p.field)
		}
		msg += fmt.Sprintf(" (and %d more: %s)", len(more), strings.Join(more, ", "))
	}
	return &invalidError{path: first.field, msg: msg + "; " + why}
}

// admit runs CAPI's validating admission webhook of obj's kind on create, and
// names it. The Cluster and ClusterClass webhooks need a client to the
// management cluster, and the MachinePool webhook CAPI's feature gates: they are
// not run.
func admit(obj runtime.Object) (webhook string, err error) {
	const core, kcp = "sigs.k8s.io/cluster-api/core/webhooks/admission", "sigs.k8s.io/cluster-api/controlplane/kubeadm/webhooks/admission"
	name := func(kind, pkg string) string { return fmt.Sprintf("CAPI's %s admission webhook (%s)", kind, pkg) }
	// The webhooks do not use the context.
	ctx := context.Background()
	switch o := obj.(type) {
	case *clusterv1.MachineDeployment:
		_, err = (&coreadmission.MachineDeployment{}).ValidateCreate(ctx, o)
		return name("MachineDeployment", core), err
	case *clusterv1.MachineSet:
		_, err = (&coreadmission.MachineSet{}).ValidateCreate(ctx, o)
		return name("MachineSet", core), err
	case *clusterv1.Machine:
		_, err = (&coreadmission.Machine{}).ValidateCreate(ctx, o)
		return name("Machine", core), err
	case *controlplanev1.KubeadmControlPlane:
		_, err = (&kcpadmission.KubeadmControlPlane{}).ValidateCreate(ctx, o)
		return name("KubeadmControlPlane", kcp), err
	}
	return "", nil
}

// nonNegativeCounts refuses negative Machine counts that neither the schema nor
// the webhooks refuse (they leave spec.replicas of MachineDeployments,
// MachineSets and MachinePools, and a MachineDeployment's maxSurge and
// maxUnavailable, unbounded below): planning counts Machines with them.
func nonNegativeCounts(obj runtime.Object) error {
	var replicas *int32
	var rolling *clusterv1.MachineDeploymentRolloutStrategyRollingUpdate
	switch o := obj.(type) {
	case *clusterv1.MachineDeployment:
		replicas, rolling = o.Spec.Replicas, &o.Spec.Rollout.Strategy.RollingUpdate
	case *clusterv1.MachineSet:
		replicas = o.Spec.Replicas
	case *clusterv1.MachinePool:
		replicas = o.Spec.Replicas
	}
	negative := func(path, value string) error {
		return &invalidError{path: path, msg: fmt.Sprintf("field %s: %s is negative; the CRD schema and CAPI's webhooks let it through, but it counts Machines, and capi-planner cannot plan with a negative count: set 0 or more", path, value)}
	}
	if replicas != nil && *replicas < 0 {
		return negative("spec.replicas", strconv.Itoa(int(*replicas)))
	}
	if rolling == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    *intstr.IntOrString
	}{{"maxSurge", rolling.MaxSurge}, {"maxUnavailable", rolling.MaxUnavailable}} {
		if n, err := intstr.GetScaledValueFromIntOrPercent(f.v, 100, false); f.v != nil && err == nil && n < 0 {
			return negative("spec.rollout.strategy.rollingUpdate."+f.name, f.v.String())
		}
	}
	return nil
}

// fieldLine returns the line, counted from 1 in doc, of the deepest field of doc
// on path (a field path as the API server writes it); item is the 1-based index
// of the object in a List's items, 0 when doc is the object.
func fieldLine(doc []byte, item int, path string) int {
	var root yamlv3.Node
	if yamlv3.Unmarshal(doc, &root) != nil || len(root.Content) == 0 {
		return 1
	}
	n, line := root.Content[0], 1
	if item > 0 {
		_, items := child(n, "items")
		if line, n = child(items, "["+strconv.Itoa(item-1)+"]"); n == nil {
			return 1
		}
	}
	for _, step := range pathSteps(path) {
		at, next := child(n, step)
		if next == nil {
			break
		}
		line, n = at, next
	}
	return line
}

// pathSteps splits a.b[0].c[name] into a, b, [0], c, [name].
func pathSteps(path string) []string {
	var out []string
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			i := strings.IndexByte(part[1:], '[') + 1
			if i == 0 {
				i = len(part)
			}
			out = append(out, part[:i])
			part = part[i:]
		}
	}
	return out
}

// child returns the value of key in a mapping, or for "[i]" or "[name]" the
// element of a sequence at index i or with that name, and the line of the key
// or element.
func child(n *yamlv3.Node, step string) (int, *yamlv3.Node) {
	if n == nil {
		return 0, nil
	}
	switch {
	case n.Kind == yamlv3.MappingNode && !strings.HasPrefix(step, "["):
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == step {
				return n.Content[i].Line, n.Content[i+1]
			}
		}
	case n.Kind == yamlv3.SequenceNode && strings.HasPrefix(step, "["):
		key := strings.TrimSuffix(step[1:], "]")
		if i, err := strconv.Atoi(key); err == nil {
			if i >= 0 && i < len(n.Content) {
				return n.Content[i].Line, n.Content[i]
			}
			return 0, nil
		}
		for _, e := range n.Content {
			if _, name := child(e, "name"); name != nil && name.Value == key {
				return e.Line, e
			}
		}
	}
	return 0, nil
}
