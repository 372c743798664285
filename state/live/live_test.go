package live

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

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

// The next page is requested ahead only with the token the page's metadata
// names before its items; anything else waits for the page's full decode.
func TestNextToken(t *testing.T) {
	for _, tc := range []struct {
		name, body, token string
		ok                bool
	}{
		{"the API server's order", `{"kind":"MachineList","apiVersion":"cluster.x-k8s.io/v1beta2","metadata":{"resourceVersion":"7","continue":"abc"},"items":[{"metadata":{"name":"m","continue":"no"}}]}`, "abc", true},
		{"the last page", `{"kind":"MachineList","apiVersion":"cluster.x-k8s.io/v1beta2","metadata":{"resourceVersion":"7"},"items":[]}`, "", true},
		{"items first", `{"items":[{"metadata":{"continue":"no"}}],"metadata":{"continue":"abc"}}`, "", false},
		{"not a list", `[1,2]`, "", false},
		{"no metadata", `{"kind":"MachineList"}`, "", false},
		{"cut short", `{"kind":"MachineList","metadata":{"continue":"ab`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token, ok := nextToken([]byte(tc.body))
			if token != tc.token || ok != tc.ok {
				t.Fatalf("nextToken = %q, %v; want %q, %v", token, ok, tc.token, tc.ok)
			}
		})
	}
}

// Every page's answer is checked, the pages read ahead too: a page that fails
// after the first fails the read (or warns, when forbidden), never ends it
// quietly with the objects of the pages before.
func TestListEveryPageChecked(t *testing.T) {
	machines := schema.GroupVersionKind{Group: clusterv1.GroupVersion.Group, Version: "v1beta2", Kind: "Machine"}
	for _, tc := range []struct {
		name     string
		failPage int // the page answered with status, counted from 0
		status   int
		wantErr  string
		warned   bool
	}{
		{"all pages", 0, http.StatusOK, "", false},
		{"the third page fails", 2, http.StatusInternalServerError, "listing machines.cluster.x-k8s.io", false},
		{"the third page is forbidden", 2, http.StatusForbidden, "listing machines.cluster.x-k8s.io", false},
		{"the first page is forbidden", 0, http.StatusForbidden, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				n, _ := strconv.Atoi(r.URL.Query().Get("continue"))
				if n == tc.failPage && tc.status != http.StatusOK {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tc.status)
					fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","code":%d,"reason":%q}`, tc.status, map[int]string{403: "Forbidden", 500: "InternalError"}[tc.status])
					return
				}
				next := ""
				if n < 3 {
					next = strconv.Itoa(n + 1)
				}
				fmt.Fprintf(w, `{"kind":"MachineList","apiVersion":"cluster.x-k8s.io/v1beta2","metadata":{"continue":%q},"items":[{"metadata":{"name":"m%d","namespace":"ns"}}]}`, next, n)
			}))
			defer srv.Close()
			client, err := rest.UnversionedRESTClientFor(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{NegotiatedSerializer: serializer.NewCodecFactory(runtime.NewScheme()).WithoutConversion()}})
			if err != nil {
				t.Fatal(err)
			}
			mapper := meta.NewDefaultRESTMapper(nil)
			mapper.Add(machines, meta.RESTScopeNamespace)
			r := &reader{client: client, mapper: mapper, opts: Options{PageSize: 1}}
			got, err := r.list(t.Context(), kind{gvk: machines, namespaced: true, newList: func() ctrlclient.ObjectList { return &clusterv1.MachineList{} }})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one with %q", err, tc.wantErr)
			case tc.warned != (got.warning != nil):
				t.Fatalf("warning = %v, want one: %v", got.warning, tc.warned)
			case tc.wantErr == "" && !tc.warned && (len(got.objects) != 4 || requests.Load() != 4):
				t.Fatalf("%d objects in %d requests, want 4 in 4", len(got.objects), requests.Load())
			}
		})
	}
}

// Listed objects keep no managedFields, whatever form they are listed in.
func TestDropManagedFields(t *testing.T) {
	fields := []metav1.ManagedFieldsEntry{{Manager: "manager", Operation: metav1.ManagedFieldsOperationApply}}
	typed := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: "m", ManagedFields: fields}}
	partial := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "p", ManagedFields: fields}}
	u := &unstructured.Unstructured{}
	u.SetName("u")
	u.SetManagedFields(fields)
	items := []runtime.Object{typed, partial, u}
	dropManagedFields(items)
	for _, item := range items {
		m, err := meta.Accessor(item)
		if err != nil {
			t.Fatal(err)
		}
		if m.GetManagedFields() != nil {
			t.Errorf("%s kept its managedFields", m.GetName())
		}
		if m.GetName() == "" {
			t.Errorf("%T lost its name", item)
		}
	}
	if _, found := u.Object["metadata"].(map[string]any)["managedFields"]; found {
		t.Error("the unstructured object kept a managedFields key")
	}
}
