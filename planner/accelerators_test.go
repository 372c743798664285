package planner

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/state"
)

func template(t *testing.T, group, kind, name string, spec map[string]any) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": group + "/v1beta2", "kind": kind, "spec": spec}}
	u.SetNamespace("ns")
	u.SetName(name)
	return u
}

const (
	infraGroup     = "infrastructure.cluster.x-k8s.io"
	bootstrapGroup = "bootstrap.cluster.x-k8s.io"
)

func machineTemplate(field, value string) map[string]any {
	return map[string]any{"template": map[string]any{"spec": map[string]any{field: value}}}
}

func TestWorkerAcceleration(t *testing.T) {
	tests := []struct {
		name       string
		labels     map[string]string
		bootstrap  map[string]any
		infraKind  string
		infra      map[string]any // nil: the template is not in the input
		known, gpu bool
		evidence   string
	}{
		{name: "label on the Machine template", labels: map[string]string{"nvidia.com/gpu.present": "true"}, infraKind: "OpenStackMachineTemplate",
			known: true, gpu: true, evidence: "carries nvidia.com/gpu.present"},
		{name: "taint in the KubeadmConfigTemplate", infraKind: "OpenStackMachineTemplate", known: true, gpu: true,
			bootstrap: map[string]any{"template": map[string]any{"spec": map[string]any{"joinConfiguration": map[string]any{"nodeRegistration": map[string]any{
				"taints": []any{map[string]any{"key": "nvidia.com/gpu", "effect": "NoSchedule"}}}}}}},
			evidence: "spec.template.spec.joinConfiguration.nodeRegistration.taints[0].key: nvidia.com/gpu"},
		{name: "node label as a kubelet argument", infraKind: "OpenStackMachineTemplate", known: true, gpu: true,
			bootstrap: map[string]any{"template": map[string]any{"spec": map[string]any{"joinConfiguration": map[string]any{"nodeRegistration": map[string]any{
				"kubeletExtraArgs": []any{map[string]any{"name": "node-labels", "value": "amd.com/gpu=true"}}}}}}},
			evidence: "kubeletExtraArgs[0].value: amd.com/gpu=true"},
		{name: "no accelerator in the KubeadmConfigTemplate, AWS m5", infraKind: "AWSMachineTemplate", infra: machineTemplate("instanceType", "m5.xlarge"),
			bootstrap: map[string]any{"template": map[string]any{"spec": map[string]any{"files": []any{}}}}, known: true, evidence: "instanceType m5.xlarge"},
		{name: "AWS p4d", infraKind: "AWSMachineTemplate", infra: machineTemplate("instanceType", "p4d.24xlarge"), known: true, gpu: true, evidence: "instanceType p4d.24xlarge"},
		{name: "AWS g5", infraKind: "AWSMachineTemplate", infra: machineTemplate("instanceType", "g5.2xlarge"), known: true, gpu: true},
		{name: "AWS trn1", infraKind: "AWSMachineTemplate", infra: machineTemplate("instanceType", "trn1.32xlarge"), known: true, gpu: true},
		{name: "Azure NC", infraKind: "AzureMachineTemplate", infra: machineTemplate("vmSize", "Standard_NC24ads_A100_v4"), known: true, gpu: true},
		{name: "Azure D", infraKind: "AzureMachineTemplate", infra: machineTemplate("vmSize", "Standard_D4s_v5"), known: true},
		{name: "GCP a2", infraKind: "GCPMachineTemplate", infra: machineTemplate("instanceType", "a2-highgpu-1g"), known: true, gpu: true},
		{name: "GCP n2", infraKind: "GCPMachineTemplate", infra: machineTemplate("instanceType", "n2-standard-8"), known: true},
		{name: "CAPD", infraKind: "DockerMachineTemplate", known: true, evidence: "no accelerators"},
		{name: "unknown provider", infraKind: "OpenStackMachineTemplate", evidence: "does not know the instance types of OpenStackMachineTemplate"},
		{name: "template not read", infraKind: "AWSMachineTemplate", evidence: "AWSMachineTemplate workers is not in the input"},
		{name: "no instance type", infraKind: "AWSMachineTemplate", infra: machineTemplate("ami", "x"), evidence: "sets no spec.template.spec.instanceType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &state.State{}
			spec := clusterv1.MachineSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infraGroup, Kind: tt.infraKind, Name: "workers"}}
			if tt.infra != nil {
				if err := st.Add(template(t, infraGroup, tt.infraKind, "workers", tt.infra)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.bootstrap != nil {
				spec.Bootstrap.ConfigRef = clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapGroup, Kind: "KubeadmConfigTemplate", Name: "workers"}
				if err := st.Add(template(t, bootstrapGroup, "KubeadmConfigTemplate", "workers", tt.bootstrap)); err != nil {
					t.Fatal(err)
				}
			}
			a := workerAcceleration(st, "ns", clusterv1.ObjectMeta{Labels: tt.labels}, spec)
			if a.known != tt.known || a.gpu != tt.gpu || !strings.Contains(a.evidence, tt.evidence) {
				t.Errorf("got %+v, want known %v gpu %v evidence ~%q", a, tt.known, tt.gpu, tt.evidence)
			}
		})
	}
}

func TestAcceleratorFindings(t *testing.T) {
	st := &state.State{}
	for name, instance := range map[string]string{"gpu": "p5.48xlarge", "cpu": "m5.large"} {
		if err := st.Add(template(t, infraGroup, "AWSMachineTemplate", name, machineTemplate("instanceType", instance))); err != nil {
			t.Fatal(err)
		}
	}
	md := func(name, infraKind, template string) *clusterv1.MachineDeployment {
		m := &clusterv1.MachineDeployment{}
		m.Namespace, m.Name = "ns", name
		m.Spec.Template.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infraGroup, Kind: infraKind, Name: template}
		return m
	}
	ref := func(name string) ObjectRef { return ObjectRef{Kind: "MachineDeployment", Namespace: "ns", Name: name} }
	ws := workerSet{objects: map[ObjectRef]*clusterv1.MachineDeployment{
		ref("gpu-a"):   md("gpu-a", "AWSMachineTemplate", "gpu"),
		ref("gpu-b"):   md("gpu-b", "AWSMachineTemplate", "gpu"),
		ref("cpu"):     md("cpu", "AWSMachineTemplate", "cpu"),
		ref("unknown"): md("unknown", "OpenStackMachineTemplate", "x"),
	}}
	change := func(name string, rule RuleID, c MachineCounts) Change {
		return Change{Object: ref(name), Prediction: &Prediction{Rule: rule, Counts: c}}
	}
	steps := []Step{
		{Number: 1, Kind: StepControlPlane},
		{Number: 2, Kind: StepWorkers, Changes: []Change{
			change("gpu-a", RuleGatesOff, MachineCounts{Created: 4, Deleted: 4}),
			change("gpu-b", RuleInPlace, MachineCounts{Created: 1, UpdatedInPlace: 3, Deleted: 1}),
			change("cpu", RuleGatesOff, MachineCounts{Created: 3, Deleted: 3}),
			change("unknown", RuleGatesOff, MachineCounts{Created: 2, Deleted: 2}),
		}},
		{Number: 3, Kind: StepWorkers, Changes: []Change{change("gpu-a", RuleInPlace, MachineCounts{UpdatedInPlace: 4})}},
	}
	var got []string
	for _, f := range acceleratorFindings(st, ws, steps) {
		got = append(got, string(f.Rule)+" "+f.Message)
	}
	want := []string{
		"AcceleratorMachinesReplaced step 2 replaces accelerator Machines of MachineDeployment ns/gpu-a (4 created, 4 deleted, 0 updated in place) [InPlaceUpdatesDisabled]",
		"to keep them in place: enable InPlaceUpdates",
		"Accelerators: AWSMachineTemplate gpu: instanceType p5.48xlarge",
		"AcceleratorMachinesReplaced step 2 replaces accelerator Machines of MachineDeployment ns/gpu-b (1 created, 1 deleted, 3 updated in place) [InPlaceUpdate]",
		"maxSurge 0, maxUnavailable 1",
		"AcceleratorMachines accelerator Machines (gpu-a, gpu-b) in this upgrade: 5 replaced (5 created, 5 deleted), 7 updated in place",
		"AcceleratorsUnknown cannot tell whether the Machines MachineDeployment ns/unknown replaces at step 2 carry accelerators",
	}
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("missing %q in:\n%s", w, all)
		}
	}
	if len(got) != 4 || strings.Contains(all, "ns/cpu") {
		t.Errorf("%d findings, the CPU pool must not be one:\n%s", len(got), all)
	}
}
