package planner

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/state"
)

// acceleratorName matches the extended resources, taints and labels that
// accelerator device plugins and operators use (NVIDIA, AMD, Intel, AWS Neuron,
// Google TPU, Habana Gaudi).
var acceleratorName = regexp.MustCompile(`nvidia\.com/gpu|amd\.com/gpu|gpu\.intel\.com/|aws\.amazon\.com/neuron|google\.com/tpu|habana\.ai/gaudi`)

// acceleratorInstance tells GPU instance types apart, for the infrastructure
// machine templates of the common providers: the field holding the instance
// type, and the pattern of the types with accelerators.
var acceleratorInstance = map[schema.GroupKind]struct {
	field   []string
	pattern *regexp.Regexp
}{
	// EC2 accelerated computing families: P, G, Inf, Trn, DL.
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "AWSMachineTemplate"}: {[]string{"spec", "template", "spec", "instanceType"}, regexp.MustCompile(`^(p\d+[a-z]*|g\d+[a-z]*|gr\d+|inf\d+|trn\d+[a-z]*|dl\d+[a-z]*)\.`)},
	// Azure N-series (NC, ND, NV).
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "AzureMachineTemplate"}: {[]string{"spec", "template", "spec", "vmSize"}, regexp.MustCompile(`^Standard_N`)},
	// Compute Engine accelerator-optimized families: A2, A3, A4, G2.
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "GCPMachineTemplate"}: {[]string{"spec", "template", "spec", "instanceType"}, regexp.MustCompile(`^(a\d|g\d)-`)},
}

// noAccelerators are infrastructure machine template kinds whose Machines never
// carry accelerators.
var noAccelerators = map[schema.GroupKind]string{
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "DockerMachineTemplate"}: "CAPD's containers have no accelerators",
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "DockerMachinePool"}:     "CAPD's containers have no accelerators",
}

// acceleration says whether a worker's Machines carry accelerators, and how that
// was told. An unknown is not "no".
type acceleration struct {
	known, gpu bool
	// evidence says how it was told, or why it cannot be.
	evidence string
}

// workerAcceleration tells from what the management cluster holds whether a
// MachineDeployment's or MachinePool's Machines carry accelerators: the labels
// and taints of its Machine template and bootstrap template, then the instance
// type of its infrastructure template.
func workerAcceleration(st *state.State, namespace string, meta clusterv1.ObjectMeta, spec clusterv1.MachineSpec) acceleration {
	for _, m := range []map[string]string{meta.Labels, meta.Annotations} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if acceleratorName.MatchString(k) {
				return acceleration{known: true, gpu: true, evidence: fmt.Sprintf("its Machine template carries %s", k)}
			}
		}
	}
	if ref := spec.Bootstrap.ConfigRef; ref.IsDefined() {
		if t := st.Template(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind}, namespace, ref.Name); t != nil {
			if path, value, ok := findAccelerator(t.Object["spec"], "spec"); ok {
				return acceleration{known: true, gpu: true, evidence: fmt.Sprintf("%s %s sets %s: %s", ref.Kind, ref.Name, path, value)}
			}
		}
	}
	ref := spec.InfrastructureRef
	if !ref.IsDefined() {
		return acceleration{evidence: "it has no infrastructure template"}
	}
	gk := schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind}
	if why, ok := noAccelerators[gk]; ok {
		return acceleration{known: true, evidence: why}
	}
	rule, ok := acceleratorInstance[gk]
	if !ok {
		return acceleration{evidence: fmt.Sprintf("capi-planner does not know the instance types of %s, and no accelerator taint or label was found", ref.Kind)}
	}
	t := st.Template(gk, namespace, ref.Name)
	if t == nil {
		return acceleration{evidence: fmt.Sprintf("its %s %s is not in the input", ref.Kind, ref.Name)}
	}
	instance, _, _ := unstructured.NestedString(t.Object, rule.field...)
	if instance == "" {
		return acceleration{evidence: fmt.Sprintf("%s %s sets no %s", ref.Kind, ref.Name, strings.Join(rule.field, "."))}
	}
	return acceleration{known: true, gpu: rule.pattern.MatchString(instance), evidence: fmt.Sprintf("%s %s: %s %s", ref.Kind, ref.Name, rule.field[len(rule.field)-1], instance)}
}

// findAccelerator finds, depth first in a template's spec, a key or string value
// naming an accelerator (a taint, a node label, a kubelet argument).
func findAccelerator(v any, path string) (string, string, bool) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if acceleratorName.MatchString(k) {
				return path + "." + k, k, true
			}
			if p, val, ok := findAccelerator(v[k], path+"."+k); ok {
				return p, val, true
			}
		}
	case []any:
		for i, e := range v {
			if p, val, ok := findAccelerator(e, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, val, true
			}
		}
	case string:
		if acceleratorName.MatchString(v) {
			return path, v, true
		}
	}
	return "", "", false
}

// acceleratorFindings reports, per step, the workers with accelerators whose
// Machines would be replaced, with what would keep them in place; in total, the
// accelerator Machines replaced and updated in place; and the replaced workers
// for which it cannot be told.
func acceleratorFindings(st *state.State, ws workerSet, steps []Step) []Finding {
	accel := map[ObjectRef]acceleration{}
	for ref, md := range ws.objects {
		accel[ref] = workerAcceleration(st, md.Namespace, md.Spec.Template.ObjectMeta, md.Spec.Template.Spec)
	}
	for ref, mp := range ws.pools {
		accel[ref] = workerAcceleration(st, mp.Namespace, mp.Spec.Template.ObjectMeta, mp.Spec.Template.Spec)
	}
	var out []Finding
	var total MachineCounts
	var gpuWorkers []string
	unknownSteps := map[ObjectRef][]int{}
	for _, s := range steps {
		for _, c := range s.Changes {
			a, ok := accel[c.Object]
			if !ok || c.Prediction == nil {
				continue
			}
			counts := c.Prediction.Counts
			replaced := counts.Created > 0 || counts.Deleted > 0
			switch {
			case a.gpu:
				total.add(counts)
				if !slices.Contains(gpuWorkers, c.Object.Name) {
					gpuWorkers = append(gpuWorkers, c.Object.Name)
				}
				if replaced {
					keep := "nothing in Cluster API keeps them: the infrastructure provider replaces a MachinePool's nodes"
					switch r, _ := LookupRule(c.Prediction.Rule); {
					case c.Object.Kind != "MachineDeployment":
					case c.Prediction.Rule == RuleInPlace:
						keep = "to keep them all in place, roll out without a surge Machine (maxSurge 0, maxUnavailable 1)"
					default:
						keep = "to keep them in place: " + r.Action
					}
					out = append(out, Finding{Rule: RuleAcceleratorMachinesReplaced, Objects: []ObjectRef{c.Object}, Steps: []int{s.Number},
						Message: fmt.Sprintf("step %d replaces accelerator Machines of %s (%d created, %d deleted, %d updated in place) [%s]: their workloads restart and the capacity may not come back; %s. Accelerators: %s",
							s.Number, c.Object, counts.Created, counts.Deleted, counts.UpdatedInPlace, c.Prediction.Rule, keep, a.evidence)})
				}
			case !a.known && replaced:
				unknownSteps[c.Object] = append(unknownSteps[c.Object], s.Number)
			}
		}
	}
	if len(gpuWorkers) > 0 {
		out = append(out, Finding{Rule: RuleAcceleratorMachines,
			Message: fmt.Sprintf("accelerator Machines (%s) in this upgrade: %d replaced (%d created, %d deleted), %d updated in place",
				strings.Join(gpuWorkers, ", "), total.Deleted, total.Created, total.Deleted, total.UpdatedInPlace)})
	}
	for _, ref := range sortedRefs(unknownSteps) {
		out = append(out, Finding{Rule: RuleAcceleratorsUnknown, Objects: []ObjectRef{ref}, Steps: unknownSteps[ref],
			Message: fmt.Sprintf("cannot tell whether the Machines %s replaces at %s carry accelerators: %s; label the Machine template (for example nvidia.com/gpu.present) to say so", ref, StepRanges(unknownSteps[ref]), accel[ref].evidence)})
	}
	return out
}
