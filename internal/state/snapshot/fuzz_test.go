package snapshot

import (
	"strings"
	"testing"
)

// FuzzRead feeds arbitrary documents to the reader: it may refuse them, never panic.
func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		cluster,
		machineDeployment,
		kubeadmControlPlane,
		"apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(machineDeploymentV1Beta1), "\n", "\n  ") + "\n",
		"apiVersion: v1\nkind: List\nitems: [1, {kind: Cluster}]\n",
		"apiVersion: cluster.x-k8s.io/v1beta1\nkind: MachineDeployment\nmetadata: {name: x}\nspec: {template: {spec: {bootstrap: {configRef: {apiVersion: ::}}}}}\n",
		"apiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: KubeadmControlPlane\nmetadata: {name: x}\nspec: {replicas: -1, version: 7}\n",
		management,
		"apiVersion: capi-planner.io/v1alpha1\nkind: ManagementCluster\nmetadata: {name: m, namespace: x}\nkubernetesVersion: [1]\n",
		"---\n---\n...\n",
		"kind: [\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		_, _ = Read(t.Context(), []string{Stdin}, Options{Stdin: strings.NewReader(doc)})
	})
}
