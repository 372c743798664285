package fielddiff

import (
	"slices"
	"testing"
)

func TestPaths(t *testing.T) {
	a := map[string]any{"spec": map[string]any{"version": "v1.33.4", "files": []any{"a"}, "same": map[string]any{"x": 1.0}, "gone": "y"}}
	b := map[string]any{"spec": map[string]any{"version": "v1.34.3", "files": []any{"a", "b"}, "same": map[string]any{"x": 1.0}, "new": map[string]any{"deep": true}}}
	got := Paths(a, b, "obj")
	want := []string{"obj.spec.files", "obj.spec.gone", "obj.spec.new", "obj.spec.version"}
	if !slices.Equal(got, want) {
		t.Fatalf("Paths = %v, want %v", got, want)
	}
	if got := Paths(a, a, "obj"); len(got) != 0 {
		t.Fatalf("Paths of equal objects = %v, want none", got)
	}
}

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		covered, path string
		want          bool
	}{
		{"spec.version", "spec.version", true},
		{"kubeadmConfig.spec.files", "kubeadmConfig.spec.files", true},
		{"kubeadmConfig.spec", "kubeadmConfig.spec.clusterConfiguration.etcd.local.imageTag", true},
		{"kubeadmConfig.spec.file", "kubeadmConfig.spec.files", false},
		{"spec.version", "spec", false},
	} {
		if got := Covers(tc.covered, tc.path); got != tc.want {
			t.Errorf("Covers(%q, %q) = %t, want %t", tc.covered, tc.path, got, tc.want)
		}
	}
}

func TestNotCarried(t *testing.T) {
	want := map[string]any{"spec": map[string]any{"files": []any{"a"}, "etcd": map[string]any{"imageTag": "3.6"}, "same": "x"}}
	have := map[string]any{"spec": map[string]any{"files": []any{"a"}, "etcd": map[string]any{"imageTag": "3.5", "dataDir": "/var"}, "same": "x", "defaulted": true}}
	if got := NotCarried(want, have, "o"); !slices.Equal(got, []string{"o.spec.etcd.imageTag"}) {
		t.Errorf("NotCarried = %v", got)
	}
	if got := NotCarried(want, nil, "o"); !slices.Equal(got, []string{"o.spec.etcd.imageTag", "o.spec.files", "o.spec.same"}) {
		t.Errorf("NotCarried into nothing = %v", got)
	}
}
