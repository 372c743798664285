package inplace

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// mergeInto applies a JSON merge patch (RFC 7386) to the value at path of obj.
func mergeInto(obj map[string]any, patch []byte, path ...string) error {
	cur, _, _ := unstructured.NestedFieldNoCopy(obj, path...)
	if cur == nil {
		cur = map[string]any{}
	}
	if err := mergeIntoTyped(&cur, patch); err != nil {
		return err
	}
	return unstructured.SetNestedField(obj, cur, path...)
}

// mergeIntoTyped applies a JSON merge patch to a typed value (through JSON).
func mergeIntoTyped(v any, patch []byte) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if raw, err = jsonpatch.MergePatch(raw, patch); err != nil {
		return fmt.Errorf("applying the ClusterClass patches' change: %w", err)
	}
	return json.Unmarshal(raw, v)
}

// nameSuffix makes a version part of an object name: v1.34.3 -> v1-34-3.
func nameSuffix(version string) string {
	return strings.NewReplacer(".", "-", "+", "-").Replace(version)
}

// rotated is the template the topology controller creates when ClusterClass
// patches change a template's spec.template.spec at version: the current
// template with the change, under a new name.
func (c *Checker) rotated(ns string, ref clusterv1.ContractVersionedObjectReference, version string, patch []byte) (*unstructured.Unstructured, error) {
	current, err := c.template(ns, ref)
	if err != nil {
		return nil, err
	}
	out := current.DeepCopy()
	out.SetName(ref.Name + "-" + nameSuffix(version))
	out.SetResourceVersion("")
	out.SetUID("")
	if err := mergeInto(out.Object, patch, specPath...); err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", ref.Kind, ns, ref.Name, err)
	}
	return out, nil
}

// serving returns a client that reads the given objects as if they existed
// (templates the topology controller would create), and everything else
// through c.Client.
func (c *Checker) serving(objs ...*unstructured.Unstructured) ctrlclient.Client {
	return servingClient{Client: c.Client, objs: objs}
}

type servingClient struct {
	ctrlclient.Client
	objs []*unstructured.Unstructured
}

func (s servingClient) Get(ctx context.Context, key ctrlclient.ObjectKey, obj ctrlclient.Object, opts ...ctrlclient.GetOption) error {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		for _, o := range s.objs {
			if o.GetName() == key.Name && o.GetNamespace() == key.Namespace && o.GroupVersionKind().GroupKind() == u.GroupVersionKind().GroupKind() {
				o.DeepCopyInto(u)
				return nil
			}
		}
	}
	return s.Client.Get(ctx, key, obj, opts...)
}
