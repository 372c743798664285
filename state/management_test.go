package state

import (
	"strings"
	"testing"
)

// A state holds one ManagementCluster, of a Kubernetes version, as a copy.
func TestAddManagementCluster(t *testing.T) {
	s := &State{}
	m := NewManagementCluster("v1.33.5+k3s1")
	m.Labels = map[string]string{"dropped": "yes"}
	if err := s.Add(m); err != nil {
		t.Fatal(err)
	}
	m.KubernetesVersion = "v9.9.9"
	if got := s.Management; got == nil || got.KubernetesVersion != "v1.33.5+k3s1" || got.Name != ManagementClusterName || got.Labels != nil ||
		got.GroupVersionKind() != ManagementClusterGroupVersionKind {
		t.Errorf("kept %+v", got)
	}
	if err := s.Add(NewManagementCluster("v1.34.0")); err == nil || !strings.Contains(err.Error(), "a second ManagementCluster") {
		t.Errorf("a second record: %v", err)
	}
	for _, v := range []string{"", "1.33.5", "v1.33", "v01.33.5", "latest"} {
		if err := (&State{}).Add(NewManagementCluster(v)); err == nil || !strings.Contains(err.Error(), "field kubernetesVersion") {
			t.Errorf("version %q: %v", v, err)
		}
	}
	if c, ok := m.DeepCopyObject().(*ManagementCluster); !ok || c == m || c.KubernetesVersion != m.KubernetesVersion || c.Labels["dropped"] != "yes" {
		t.Errorf("DeepCopyObject: %+v", c)
	}
}
