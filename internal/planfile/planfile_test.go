package planfile

import (
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/planner"
)

func saved() *SavedPlan {
	c := planner.ObjectRef{Kind: "Cluster", Namespace: "ns", Name: "c"}
	return &SavedPlan{APIVersion: APIVersion, Kind: Kind, Code: Code{CAPIPlanner: "dev", ClusterAPI: "v1.14.2"},
		Options: Options{To: "v1.36.3", Live: true},
		Inputs:  []ClusterInputs{{Cluster: c, Objects: []Object{{Group: "cluster.x-k8s.io", Kind: "Cluster", Namespace: "ns", Name: "c", UID: "u", ResourceVersion: "7", Generation: 2}}}},
		Plan:    planner.UpgradePlan{APIVersion: planner.APIVersion, Kind: planner.Kind, Clusters: []planner.ClusterPlan{{Cluster: c, Status: planner.StatusPlanned}}}}
}

func TestRoundTrip(t *testing.T) {
	data, err := saved().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := saved().Digest()
	d2, _ := got.Digest()
	if d1 != d2 {
		t.Errorf("the digest changes across a round trip: %s, %s", d1, d2)
	}
}

func TestDecodeRefuses(t *testing.T) {
	data, err := saved().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, tc := range []struct{ name, doc, want string }{
		{"not JSON", "apiVersion: x", "not a saved plan"},
		{"a plan without inputs", `{"apiVersion":"capi-planner.io/v1alpha1","kind":"UpgradePlan"}`, "save a plan with `plan --out FILE`"},
		{"a newer apiVersion", strings.Replace(doc, `"capi-planner.io/v1alpha1",
  "kind": "SavedUpgradePlan"`, `"capi-planner.io/v1beta1",
  "kind": "SavedUpgradePlan"`, 1), `apiVersion "capi-planner.io/v1beta1" is not capi-planner.io/v1alpha1`},
		{"an unknown field", strings.Replace(doc, `"code": {`, `"extra": 1, "code": {`, 1), `unknown field "extra"`},
		{"trailing data", doc + "{}", "after top-level value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	bad := saved()
	bad.Inputs = nil
	data, _ = bad.Marshal()
	if _, err := Decode(strings.NewReader(string(data))); err == nil || !strings.Contains(err.Error(), "the inputs of Cluster ns/c are missing") {
		t.Errorf("a plan without the inputs of its Cluster: %v", err)
	}
}

func TestCompare(t *testing.T) {
	obj := func(name, uid string, gen int64, rv string) Object {
		return Object{Kind: "MachineDeployment", Namespace: "ns", Name: name, UID: uid, Generation: gen, ResourceVersion: rv}
	}
	was := []Object{obj("same", "1", 1, "10"), obj("status", "2", 1, "11"), obj("spec", "3", 1, "12"), obj("recreated", "4", 1, "13"), obj("gone", "5", 1, "14")}
	now := []Object{obj("same", "1", 1, "10"), obj("status", "2", 1, "99"), obj("spec", "3", 2, "98"), obj("recreated", "40", 1, "97"), obj("new", "6", 1, "96")}
	d := Compare(was, now)
	got := d.String()
	for _, want := range []string{
		"MachineDeployment ns/gone: deleted since the plan",
		"MachineDeployment ns/new: created since the plan",
		"MachineDeployment ns/spec: its spec changed since the plan (generation 1, now 2)",
		"MachineDeployment ns/recreated: deleted and created again since the plan (uid 4, now 40)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the difference does not say %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ns/status") || strings.Contains(got, "ns/same") {
		t.Errorf("a status write (resourceVersion only) counts as a change:\n%s", got)
	}
	if !Compare(was, was).Empty() {
		t.Error("the same inputs differ")
	}
}
