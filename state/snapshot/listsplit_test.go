package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"
)

// Lists split item by item must give exactly the items a full parse gives;
// anything the split cannot read safely is left to the full parse.
func TestListItems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		doc   string
		split bool
	}{
		{"kubectl layout", `apiVersion: v1
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a
  data:
    script: |
      #!/bin/sh
      echo "- not an item"

    other: x
# a comment between items
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b}
kind: List
metadata:
  resourceVersion: ""
`, true},
		{"items indented", "kind: List\napiVersion: v1\nitems:\n  - kind: ConfigMap\n    apiVersion: v1\n    metadata:\n      name: a\n  - kind: ConfigMap\n    apiVersion: v1\n    metadata:\n      name: b\n", true},
		// Only items that are mappings are read on their own: out of the
		// List, other items may parse where the List does not.
		{"an item that is a list", "apiVersion: v1\nkind: List\nitems:\n- - a\n  - b\n", false},
		{"a bare dash", "kind: List\napiVersion: v1\nitems:\n-\n  kind: ConfigMap\n", false},
		{"a scalar item the List refuses (found by FuzzListItems)", "apiVersion: \nkind: List\nitems:\n- 0\n  :", false},
		{"flow style", "apiVersion: v1\nkind: List\nitems: [{kind: ConfigMap, apiVersion: v1, metadata: {name: a}}]\n", false},
		{"anchors", "apiVersion: v1\nkind: List\nitems:\n- &m\n  kind: ConfigMap\n- *m\n", false},
		{"a repeated top-level key", "apiVersion: v1\nkind: List\nitems:\n- kind: A\nitems:\n- kind: B\n", false},
		{"not a List", "apiVersion: v1\nkind: ConfigMap\nitems:\n- a\n", false},
		{"tabs", "apiVersion: v1\nkind: List\nitems:\n-\tkind: A\n", false},
		{"a line outside the items", "apiVersion: v1\nkind: List\nitems:\n  - kind: A\n - kind: B\n", false},
		{"JSON, kind after the items", `{"apiVersion":"v1","items":[{"kind":"ConfigMap","metadata":{"name":"a"}} , {"kind":"ConfigMap","metadata":{"name":"b"}}],"kind":"List","metadata":{}}`, true},
		{"JSON, a repeated key", `{"apiVersion":"v1","kind":"List","items":[{"kind":"A"}],"items":[]}`, false},
		{"JSON, not a List", `{"apiVersion":"v1","kind":"ConfigMap","items":[{"kind":"A"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := []byte(tc.doc)
			items, ok := listItems(t.Context(), doc)
			if ok != tc.split {
				t.Fatalf("split %v, want %v", ok, tc.split)
			}
			if !ok {
				return
			}
			full, err := yaml.YAMLToJSON(doc)
			if err != nil {
				t.Fatal(err)
			}
			var want struct{ Items []json.RawMessage }
			if err := json.Unmarshal(full, &want); err != nil {
				t.Fatal(err)
			}
			if len(items) != len(want.Items) {
				t.Fatalf("%d items, want %d", len(items), len(want.Items))
			}
			for i, it := range items {
				got, err := yaml.YAMLToJSON(it.text(doc))
				if err != nil {
					t.Fatalf("item %d: %v\n%s", i+1, err, it.text(doc))
				}
				var a, b any
				_ = json.Unmarshal(got, &a)
				_ = json.Unmarshal(want.Items[i], &b)
				ga, _ := json.Marshal(a)
				gb, _ := json.Marshal(b)
				if !bytes.Equal(ga, gb) {
					t.Errorf("item %d:\n got  %s\n want %s", i+1, ga, gb)
				}
			}
		})
	}
}

// Splitting stops at the next item once the context is done.
func TestListItemsStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, doc := range map[string]string{
		"YAML": "apiVersion: v1\nkind: List\nitems:\n- kind: A\n- kind: B\n",
		"JSON": `{"apiVersion":"v1","kind":"List","items":[{"kind":"A"},{"kind":"B"}]}`,
	} {
		if items, ok := listItems(t.Context(), []byte(doc)); !ok || len(items) != 2 {
			t.Fatalf("%s: %d items, ok %v", name, len(items), ok)
		}
		if items, ok := listItems(ctx, []byte(doc)); ok || items != nil {
			t.Errorf("%s, canceled: %d items, ok %v", name, len(items), ok)
		}
	}
}
