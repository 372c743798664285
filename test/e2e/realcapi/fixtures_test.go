package realcapi

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/capienv"
	"github.com/capi-planner/capi-planner/internal/state/snapshot"
)

// conditionShape is what a fixture must share with what a controller writes: the
// condition types, and each one's status and reason at rest.
func conditionShape(cs []metav1.Condition) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Type+"="+string(c.Status)+"/"+c.Reason)
	}
	slices.Sort(out)
	return out
}

// The controller-written fields of the fixtures (hand-built by internal/fleet)
// are checked against what the real controllers write: ExtensionConfig handler
// names and conditions, ClusterClass status.
func TestFixturesHoldWhatControllersWrite(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, err := snapshot.Read(ctx, []string{filepath.Join(root, "fixtures")}, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}

	real, err := env.RegisterTestExtension(ctx, capienv.ExtensionOptions{Name: "fixture-check", Namespaces: []string{"fixture-check"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range real.Status.Handlers {
		if !strings.HasSuffix(h.Name, "."+real.Name) {
			t.Errorf("the core controller registered handler %q of ExtensionConfig %s without the suffix the planner expects", h.Name, real.Name)
		}
	}
	for _, ec := range st.ExtensionConfigs {
		for _, h := range ec.Status.Handlers {
			if !strings.HasSuffix(h.Name, "."+ec.Name) {
				t.Errorf("fixture ExtensionConfig %s: handler %q is not named as CAPI's discovery names it (<handler>.%s)", ec.Name, h.Name, ec.Name)
			}
		}
		if got, want := conditionShape(ec.Status.Conditions), conditionShape(real.Status.Conditions); !slices.Equal(got, want) {
			t.Errorf("fixture ExtensionConfig %s conditions %v; the core controller writes %v", ec.Name, got, want)
		}
	}

	spec := capienv.ClusterSpec{Namespace: "fixture-check", Name: "c", Version: "v1.35.2", Topology: true, Versions: chain[1:], ControlPlaneReplicas: 1}
	objs, err := spec.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() == "Cluster" {
			continue // the ClusterClass is enough, and it needs no Machines
		}
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cc := &clusterv1.ClusterClass{}
	var realCC []string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if err := env.Client.Get(ctx, types.NamespacedName{Namespace: spec.Namespace, Name: spec.Name}, cc); err != nil {
			t.Fatal(err)
		}
		if cc.Status.ObservedGeneration == cc.Generation && len(cc.Status.Conditions) >= 3 {
			realCC = conditionShape(cc.Status.Conditions)
			break
		}
	}
	if realCC == nil {
		t.Fatalf("the ClusterClass controller did not reconcile the ClusterClass: %+v", cc.Status)
	}
	for _, f := range st.ClusterClasses {
		if got := conditionShape(f.Status.Conditions); !slices.Equal(got, realCC) {
			t.Errorf("fixture ClusterClass %s/%s conditions %v; the ClusterClass controller writes %v", f.Namespace, f.Name, got, realCC)
		}
		if f.Status.ObservedGeneration != f.Generation {
			t.Errorf("fixture ClusterClass %s/%s: status.observedGeneration %d, generation %d", f.Namespace, f.Name, f.Status.ObservedGeneration, f.Generation)
		}
	}
}
