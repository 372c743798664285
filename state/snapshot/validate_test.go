package snapshot

import (
	"strings"
	"testing"
)

// machineDeployment is a valid v1beta2 MachineDeployment: the API server and
// CAPI's webhook accept it.
const machineDeployment = `apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata:
  name: md
  namespace: ns
spec:
  clusterName: c
  replicas: 3
  selector:
    matchLabels: {app: md}
  template:
    metadata:
      labels: {app: md}
    spec:
      clusterName: c
      bootstrap:
        dataSecretName: md-bootstrap
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DockerMachineTemplate, name: md}
      version: v1.33.4
  rollout:
    strategy:
      type: RollingUpdate
      rollingUpdate:
        maxSurge: 1
        maxUnavailable: 0
`

// machineDeploymentV1Beta1 is a valid v1beta1 MachineDeployment.
const machineDeploymentV1Beta1 = `apiVersion: cluster.x-k8s.io/v1beta1
kind: MachineDeployment
metadata:
  name: md
  namespace: ns
spec:
  clusterName: c
  replicas: 3
  selector:
    matchLabels: {app: md}
  template:
    metadata:
      labels: {app: md}
    spec:
      clusterName: c
      bootstrap:
        dataSecretName: md-bootstrap
      infrastructureRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta1, kind: DockerMachineTemplate, name: md}
      version: v1.33.4
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
`

// kubeadmControlPlane is a valid v1beta2 KubeadmControlPlane.
const kubeadmControlPlane = `apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata:
  name: cp
  namespace: ns
spec:
  replicas: 3
  version: v1.33.4
  machineTemplate:
    spec:
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DockerMachineTemplate, name: cp}
`

func TestReadValidObjects(t *testing.T) {
	// Create ignores status, which the schema would refuse here (the controllers write it through the status subresource).
	withStatus := machineDeployment + "status:\n  conditions:\n  - {type: Available, status: Maybe, reason: X, lastTransitionTime: \"2026-01-01T00:00:00Z\"}\n"
	for _, doc := range []string{machineDeployment, machineDeploymentV1Beta1, kubeadmControlPlane, cluster, withStatus} {
		if _, err := Read(t.Context(), []string{Stdin}, Options{Stdin: strings.NewReader(doc)}); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// Objects the API server or CAPI's webhooks refuse, or that count a negative
// number of Machines, are errors naming the file, the field's line, the object,
// the field, what was expected and what to do.
func TestReadRefusesInvalidObjects(t *testing.T) {
	mutate := func(doc, old, new string) string {
		t.Helper()
		if !strings.Contains(doc, old) {
			t.Fatalf("%q is not in the document", old)
		}
		return strings.Replace(doc, old, new, 1)
	}
	const schema = "the API server refuses this object: it does not match the schema of the MachineDeployment CRD, version v1beta2 (from sigs.k8s.io/cluster-api@v1.14.2); correct the field"
	const webhook = "CAPI's MachineDeployment admission webhook (sigs.k8s.io/cluster-api/core/webhooks/admission) refuses this object on create: correct the field"
	tests := []struct {
		name, content string
		want          []string
	}{
		{"enum", mutate(machineDeployment, "type: RollingUpdate", "type: Recreate"),
			[]string{"bad.yaml:22 (document 1, MachineDeployment ns/md)", `field spec.rollout.strategy.type: Unsupported value: "Recreate": supported values: "RollingUpdate", "OnDelete"`, schema}},
		{"required field", mutate(machineDeployment, "  clusterName: c\n  replicas", "  replicas"),
			[]string{"bad.yaml:6 ", "field spec.clusterName: missing, and the schema requires it", schema}},
		{"required fields", mutate(machineDeployment, "      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DockerMachineTemplate, name: md}\n", ""),
			[]string{"bad.yaml:14 ", "field spec.template.spec.infrastructureRef: missing", schema}},
		{"pattern", mutate(machineDeployment, "kind: DockerMachineTemplate", "kind: Docker_Machine"),
			[]string{"bad.yaml:18 ", `field spec.template.spec.infrastructureRef.kind: Invalid value: "Docker_Machine": spec.template.spec.infrastructureRef.kind in body should match`, schema}},
		{"type in the schema", mutate(machineDeployment, "maxSurge: 1", "maxSurge: true"),
			[]string{"bad.yaml:24 ", "field spec.rollout.strategy.rollingUpdate.maxSurge: expected an integer, got bool"}},
		{"v1beta1 schema", mutate(machineDeploymentV1Beta1, "type: RollingUpdate", "type: Recreate"),
			[]string{"bad.yaml:21 ", `field spec.strategy.type: Unsupported value: "Recreate"`, "MachineDeployment CRD, version v1beta1"}},
		{"maxSurge not a number", mutate(machineDeployment, "maxSurge: 1", "maxSurge: abc"),
			[]string{"bad.yaml:24 ", `field spec.rollout.strategy.rollingUpdate.maxSurge: Invalid value: "abc": must be either an int or a percentage`, webhook}},
		{"maxSurge and maxUnavailable 0", mutate(machineDeployment, "maxSurge: 1", "maxSurge: 0"),
			[]string{"bad.yaml:23 ", `field spec.rollout.strategy.rollingUpdate: Invalid value: "0": maxUnavailable and maxSurge cannot both be 0`, webhook}},
		{"maxSurge and maxUnavailable 0 in v1beta1", mutate(machineDeploymentV1Beta1, "maxSurge: 1", "maxSurge: 0"),
			[]string{"field spec.rollout.strategy.rollingUpdate:", "maxUnavailable and maxSurge cannot both be 0", webhook}},
		{"selector", mutate(machineDeployment, "labels: {app: md}", "labels: {app: other}"),
			[]string{"bad.yaml:13 ", "field spec.template.metadata.labels: Forbidden: must match spec.selector", webhook}},
		{"negative replicas", mutate(machineDeployment, "replicas: 3", "replicas: -3"),
			[]string{"bad.yaml:8 ", "field spec.replicas: -3 is negative; the CRD schema and CAPI's webhooks let it through", "set 0 or more"}},
		{"negative maxSurge", mutate(machineDeployment, "maxSurge: 1", "maxSurge: -1"),
			[]string{"bad.yaml:24 ", "field spec.rollout.strategy.rollingUpdate.maxSurge: -1 is negative"}},
		{"negative maxUnavailable percent", mutate(machineDeployment, "maxUnavailable: 0", "maxUnavailable: -10%"),
			[]string{"bad.yaml:25 ", "field spec.rollout.strategy.rollingUpdate.maxUnavailable: -10% is negative"}},
		{"control plane replicas", mutate(kubeadmControlPlane, "replicas: 3", "replicas: 0"),
			[]string{"bad.yaml:7 (document 1, KubeadmControlPlane ns/cp)", "field spec.replicas: Forbidden: cannot be less than or equal to 0", "CAPI's KubeadmControlPlane admission webhook (sigs.k8s.io/cluster-api/controlplane/kubeadm/webhooks/admission)"}},
		{"control plane required", mutate(kubeadmControlPlane, "  version: v1.33.4\n", ""),
			[]string{"field spec.version: missing", "KubeadmControlPlane CRD, version v1beta2"}},
		{"template", "apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlaneTemplate\nmetadata: {name: t, namespace: ns}\nspec:\n  template:\n    spec:\n      rollout: {strategy: {type: Sideways}}\n",
			[]string{"bad.yaml:7 (document 1, KubeadmControlPlaneTemplate ns/t)", `field spec.template.spec.rollout.strategy.type: Unsupported value: "Sideways"`}},
		{"second item of a List", "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(cluster), "\n", "\n  ") + "\n- " + strings.ReplaceAll(strings.TrimSpace(mutate(machineDeployment, "replicas: 3", "replicas: -3")), "\n", "\n  ") + "\n",
			[]string{"bad.yaml:20 (document 1, item 2, MachineDeployment ns/md)", "field spec.replicas: -3 is negative"}},
		{"JSON", `{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "metadata": {"name": "c", "namespace": "ns"},` + "\n" + `"spec": {"topology": {"version": "v1.33.4",` + "\n" + `"classRef": {"name": "Not_A_Name"}}}}`,
			[]string{"bad.yaml:3 (document 1, Cluster ns/c)", "field spec.topology.classRef.name: Invalid value: \"Not_A_Name\"", "Cluster CRD, version v1beta2"}},
		{"several problems", mutate(mutate(machineDeployment, "type: RollingUpdate", "type: Recreate"), "  clusterName: c\n  replicas", "  replicas"),
			[]string{"field spec.rollout.strategy.type: Unsupported value: \"Recreate\"", "(and 1 more: spec.clusterName)"}},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readFails(t, dir, tt.content, tt.want)
		})
	}
}
