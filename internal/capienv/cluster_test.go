package capienv

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"

	"github.com/capi-planner/capi-planner/internal/scheme"
)

// The rendered objects decode strictly into CAPI's types (a misplaced field
// fails), for a topology Cluster and an unmanaged one.
func TestClusterObjects(t *testing.T) {
	unmanaged := Demo()
	unmanaged.Topology, unmanaged.Versions, unmanaged.Patches = false, nil, false
	unmanaged.MachineDeployments[1].OnDelete = true
	strict := serializer.NewCodecFactory(scheme.New(), serializer.EnableStrict).UniversalDeserializer()
	rotating := Demo()
	rotating.RotateAt = "1.35.0"
	for name, spec := range map[string]ClusterSpec{"topology": Demo(), "rotating": rotating, "unmanaged": unmanaged} {
		t.Run(name, func(t *testing.T) {
			objs, err := spec.Objects()
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.GetKind())
				data, err := yaml.Marshal(o.Object)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := strict.Decode(data, nil, nil); err != nil && !runtime.IsNotRegisteredError(err) {
					t.Errorf("%s %s: %v\n%s", o.GetKind(), o.GetName(), err, data)
				}
			}
			want := []string{"Namespace", "DevClusterTemplate", "DevMachineTemplate", "DevMachineTemplate", "KubeadmConfigTemplate", "KubeadmControlPlaneTemplate", "ClusterClass", "Cluster"}
			if name == "unmanaged" {
				want = []string{"Namespace", "DevClusterTemplate", "DevMachineTemplate", "DevMachineTemplate", "KubeadmConfigTemplate", "DevCluster", "KubeadmControlPlane", "Cluster", "MachineDeployment", "MachineDeployment"}
			}
			if name == "rotating" {
				for _, o := range objs {
					if o.GetKind() != "ClusterClass" {
						continue
					}
					patches, _, _ := unstructured.NestedSlice(o.Object, "spec", "patches")
					if len(patches) != 2 {
						t.Fatalf("patches %v", patches)
					}
					tmpl := fmt.Sprint(patches[1])
					if !strings.Contains(tmpl, `{{ if semverCompare ">=1.35.0" .builtin.controlPlane.version }}2s{{ else }}1s{{ end }}`) {
						t.Errorf("rotation patch %s", tmpl)
					}
				}
			}
			if !slices.Equal(kinds, want) {
				t.Errorf("kinds %v, want %v", kinds, want)
			}
		})
	}
}
