package snapshot

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
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

// FuzzListItems checks the item-by-item reading of Lists against the full
// parse: where the split is taken, a document the full parse refuses has a
// part (its shell or an item) that is refused too, and one it reads has the
// same items.
func FuzzListItems(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: v1\nkind: List\nitems:\n- kind: A\n  metadata: {name: a}\n- kind: B\nmetadata: {bad\n",
		"apiVersion: v1\nkind: List\nitems:\n- kind: A\n  kind: B\n",
		"apiVersion: v1\nkind: List\nitems:\n  - a: |\n      x\n    b: 1\n  -\n    c: [1, 2]\n",
		`{"apiVersion":"v1","items":[{"kind":"A"},{"kind":"B","kind":"C"}],"kind":"List"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		items, ok := listItems(t.Context(), []byte(doc))
		if !ok {
			return
		}
		full, fullErr := yaml.YAMLToJSONStrict([]byte(doc))
		_, shellErr := yaml.YAMLToJSONStrict(shell([]byte(doc), items))
		var got []any
		partsErr := shellErr
		for _, it := range items {
			raw, err := yaml.YAMLToJSONStrict(it.text([]byte(doc)))
			if err != nil {
				partsErr = err
				break
			}
			var v any
			_ = json.Unmarshal(raw, &v)
			got = append(got, v)
		}
		if fullErr != nil {
			if partsErr == nil {
				t.Fatalf("the full parse refuses it (%v), the split reads it", fullErr)
			}
			return
		}
		if partsErr != nil {
			return // left to the full parse
		}
		var want struct{ Items []any }
		if err := json.Unmarshal(full, &want); err != nil {
			return
		}
		if a, b := mustJSON(t, got), mustJSON(t, want.Items); a != b {
			t.Fatalf("items differ:\n split %s\n full  %s", a, b)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
