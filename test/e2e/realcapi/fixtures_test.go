package realcapi

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/capienv"
	"github.com/capi-planner/capi-planner/state/snapshot"
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

// statusKinds are the kinds whose status the controllers write and the
// fixtures carry, by group.
var statusKinds = map[string]string{
	"Cluster": clusterv1.GroupVersion.Group, "MachineDeployment": clusterv1.GroupVersion.Group,
	"MachineSet": clusterv1.GroupVersion.Group, "Machine": clusterv1.GroupVersion.Group,
	"KubeadmControlPlane": "controlplane.cluster.x-k8s.io",
}

// statusShape is what an object's status holds: the paths of its fields
// (a list's elements under "[]"), and its condition types by where they are.
// status.nodeInfo is left out: the Machine controller copies it from the
// Node, whose fields the in-memory backend's kubelet does not all fill.
func statusShape(status any, path string, paths map[string]bool) {
	switch v := status.(type) {
	case map[string]any:
		for k, e := range v {
			p := path + "." + k
			switch {
			case p == "status.nodeInfo":
				continue
			case k == "conditions":
				if list, ok := e.([]any); ok {
					for _, c := range list {
						if m, ok := c.(map[string]any); ok {
							paths[fmt.Sprintf("%s[type=%v]", p, m["type"])] = true
						}
					}
					continue
				}
			}
			statusShape(e, p, paths)
		}
	case []any:
		for _, e := range v {
			statusShape(e, path+"[]", paths)
		}
	default:
		paths[path] = true
	}
}

// The fixtures' status fields and conditions are ones the controllers write,
// and their counters are what the controllers compute:
// each fixture object's status holds only fields and condition types that the
// same kind in the same API version holds in a Cluster the real controllers
// provisioned (the API server serves both v1beta1 and v1beta2). A fixture may
// hold less (it shows a moment the box's Cluster at rest does not), never
// something the controllers do not write.
func TestFixtureStatusIsWhatControllersWrite(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	s := scenario{cluster: capienv.ClusterSpec{Version: "v1.33.4", Topology: true, Versions: chain, ControlPlaneReplicas: 1, ControlPlaneMaxSurge: 1,
		MachineDeployments: []capienv.MachineDeploymentSpec{{Name: "md-0", Replicas: 1, MaxSurge: 1}}}}
	r := s.start(t, "fixture-status")

	written := map[string]map[string]bool{} // by apiVersion and kind
	for kind, group := range statusKinds {
		for _, version := range []string{"v1beta1", "v1beta2"} {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: version, Kind: kind + "List"})
			if err := env.Client.List(ctx, list, ctrlclient.InNamespace(r.ns)); err != nil {
				t.Fatal(err)
			}
			if len(list.Items) == 0 {
				t.Fatalf("no %s in the provisioned Cluster's namespace", kind)
			}
			paths := map[string]bool{}
			for _, o := range list.Items {
				statusShape(o.Object["status"], "status", paths)
			}
			written[group+"/"+version+" "+kind] = paths
		}
	}

	files, err := filepath.Glob(filepath.Join(root, "fixtures", "*", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			var o map[string]any
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			items := []any{o}
			if list, ok := o["items"].([]any); ok {
				items = list
			}
			for _, it := range items {
				obj, _ := it.(map[string]any)
				u := unstructured.Unstructured{Object: obj}
				real, ok := written[u.GetAPIVersion()+" "+u.GetKind()]
				if obj == nil || !ok || obj["status"] == nil {
					continue
				}
				checked++
				paths := map[string]bool{}
				statusShape(u.Object["status"], "status", paths)
				for _, p := range slices.Sorted(maps.Keys(paths)) {
					if !real[p] {
						t.Errorf("%s: %s %s/%s has %s, which the controllers do not write for a %s %s", filepath.Base(filepath.Dir(f)), u.GetKind(), u.GetNamespace(), u.GetName(), p, u.GetAPIVersion(), u.GetKind())
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no fixture object with a status was checked")
	}
	t.Logf("checked the status of %d fixture objects", checked)

	// The counters and versions in the fixtures' status are what the
	// controllers compute from their Machines, by the rules the real
	// controllers of the provisioned Cluster follow.
	checkCountersOfTheBox(ctx, t, r.ns)
	st, err := snapshot.Read(ctx, []string{filepath.Join(root, "fixtures")}, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mismatches, compared, err := counterMismatches(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mismatches {
		t.Errorf("fixtures: %s", m)
	}
	if compared == 0 {
		t.Fatal("no fixture object with counters was compared")
	}
	t.Logf("compared the counters of %d fixture objects with their Machines", compared)
}
