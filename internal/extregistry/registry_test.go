package extregistry

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/state"
)

func discovered(name string, handlers ...string) *runtimev1.ExtensionConfig {
	ec := &runtimev1.ExtensionConfig{}
	ec.Name = name
	ec.Status.Conditions = []metav1.Condition{{Type: runtimev1.ExtensionConfigDiscoveredCondition, Status: metav1.ConditionTrue}}
	for _, h := range handlers {
		ec.Status.Handlers = append(ec.Status.Handlers, runtimev1.ExtensionHandler{Name: h,
			RequestHook: runtimev1.GroupVersionHook{APIVersion: "hooks.runtime.cluster.x-k8s.io/v1alpha1", Hook: "BeforeClusterUpgrade"}})
	}
	return ec
}

// Names are taken as CAPI's discovery writes them, never suffixed again, and the
// URL path drops exactly the ".<ExtensionConfig name>" suffix.
func TestNamesAsCAPIWritesThem(t *testing.T) {
	st := &state.State{ExtensionConfigs: []*runtimev1.ExtensionConfig{
		discovered("test-extension", "before-cluster-upgrade.test-extension"),
		discovered("dotted.ext", "hook.dotted.ext"),
	}}
	sel := ForNamespace(st, "default")
	got := sel.Names("BeforeClusterUpgrade")
	if len(got) != 2 || got[0] != "before-cluster-upgrade.test-extension" || got[1] != "hook.dotted.ext" {
		t.Fatalf("names %v", got)
	}
	for name, path := range map[string]string{"before-cluster-upgrade.test-extension": "before-cluster-upgrade", "hook.dotted.ext": "hook"} {
		h, err := Lookup(st, name, "default")
		if err != nil {
			t.Fatal(err)
		}
		if h.PathName() != path {
			t.Errorf("%s: path name %q, want %q", name, h.PathName(), path)
		}
	}
	if _, err := Lookup(st, "before-cluster-upgrade.test-extension.test-extension", "default"); err == nil {
		t.Error("a doubly suffixed name was found")
	}
}

func TestNotDiscoveredIsUnusable(t *testing.T) {
	ec := discovered("ext", "h.ext")
	ec.Generation = 2
	ec.Status.Conditions[0].ObservedGeneration = 1
	sel := ForNamespace(&state.State{ExtensionConfigs: []*runtimev1.ExtensionConfig{ec}}, "default")
	if len(sel.Handlers) != 0 || len(sel.Unusable) != 1 {
		t.Fatalf("selection %+v", sel)
	}
}
