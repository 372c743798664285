package live

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

func TestListPath(t *testing.T) {
	machines := &meta.RESTMapping{Resource: clusterv1.GroupVersion.WithResource("machines"), Scope: meta.RESTScopeNamespace}
	namespaces := &meta.RESTMapping{Resource: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, Scope: meta.RESTScopeRoot}
	for _, tc := range []struct {
		m    *meta.RESTMapping
		ns   string
		want string
	}{
		{machines, "", "/apis/cluster.x-k8s.io/v1beta2/machines"},
		{machines, "prod", "/apis/cluster.x-k8s.io/v1beta2/namespaces/prod/machines"},
		{namespaces, "prod", "/api/v1/namespaces"},
	} {
		if got := strings.Join(listPath(tc.m, tc.ns), "/"); got != tc.want {
			t.Errorf("listPath(%s, %q) = %s, want %s", tc.m.Resource, tc.ns, got, tc.want)
		}
	}
}

// A page decodes as the API machinery's serializer decodes it: typed lists
// case-sensitively (a field spelled otherwise is not read), unstructured ones
// with integers kept as int64.
func TestDecodeList(t *testing.T) {
	page := `{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"MachineList","metadata":{"continue":"next"},
		"items":[{"metadata":{"name":"a"},"spec":{"clusterName":"c","version":"v1.33.4","ProviderID":"x"}}]}`
	typed := &clusterv1.MachineList{}
	if err := decodeList([]byte(page), typed); err != nil {
		t.Fatal(err)
	}
	if typed.Continue != "next" || len(typed.Items) != 1 || typed.Items[0].Name != "a" || typed.Items[0].Spec.Version != "v1.33.4" || typed.Items[0].Spec.ProviderID != "" {
		t.Errorf("typed: %+v", typed)
	}
	u := &unstructured.UnstructuredList{}
	if err := decodeList([]byte(`{"apiVersion":"controlplane.cluster.x-k8s.io/v1beta2","kind":"KubeadmControlPlaneList","metadata":{},
		"items":[{"apiVersion":"controlplane.cluster.x-k8s.io/v1beta2","kind":"KubeadmControlPlane","metadata":{"name":"cp"},"spec":{"replicas":3}}]}`), u); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(u.Items[0].Object, "spec", "replicas"); len(u.Items) != 1 || r != 3 {
		t.Errorf("unstructured: %+v", u.Items)
	}
	if err := decodeList([]byte(`{"items":[`), &metav1.PartialObjectMetadataList{}); err == nil {
		t.Error("a truncated page decoded")
	}
}
