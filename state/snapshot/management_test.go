package snapshot

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/state"
)

const management = `apiVersion: capi-planner.io/v1alpha1
kind: ManagementCluster
metadata:
  name: management
kubernetesVersion: v1.36.3
`

// The ManagementCluster record gives the management cluster's Kubernetes version;
// without it the version is unknown, not guessed.
func TestReadManagementCluster(t *testing.T) {
	for _, tt := range []struct {
		name, content, want string
	}{
		{"record", management + "---\n" + cluster, "v1.36.3"},
		{"a distribution's version", strings.Replace(management, "v1.36.3", "v1.33.5+k3s1", 1), "v1.33.5+k3s1"},
		{"JSON", `{"apiVersion":"capi-planner.io/v1alpha1","kind":"ManagementCluster","metadata":{"name":"m"},"kubernetesVersion":"v1.32.9-eks-113cf36"}`, "v1.32.9-eks-113cf36"},
		{"none", cluster, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Read(t.Context(), []string{write(t, t.TempDir(), "f.yaml", tt.content)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if st.Management != nil {
				got = st.Management.KubernetesVersion
			}
			if got != tt.want {
				t.Errorf("management cluster's version %q, want %q", got, tt.want)
			}
		})
	}
}

// The record is read strictly: one version of the kind, no unknown, misspelt
// or duplicate field, no namespace, a Kubernetes version, and one record.
func TestReadManagementClusterErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
		want          []string
	}{
		{"another version", strings.Replace(management, "v1alpha1", "v1beta1", 1), []string{"document 1", "field apiVersion: capi-planner.io/v1beta1 is not supported for ManagementCluster; expected capi-planner.io/v1alpha1"}},
		{"an unknown field", management + "clusterAPIVersion: v1.14.2\n", []string{`unknown field "clusterAPIVersion"`, "a ManagementCluster has metadata.name and kubernetesVersion only"}},
		{"field names are case-sensitive", strings.Replace(management, "kubernetesVersion", "kubernetesversion", 1), []string{`unknown field "kubernetesversion"`}},
		{"an unknown metadata field", strings.Replace(management, "  name: management\n", "  name: management\n  labelz: {a: b}\n", 1), []string{`unknown field "metadata.labelz"`}},
		{"duplicate key", management + "kubernetesVersion: v1.30.0\n", []string{"bad.yaml:6", `duplicate key "kubernetesVersion"`}},
		{"no version", strings.Replace(management, "kubernetesVersion: v1.36.3\n", "", 1), []string{"bad.yaml:1", "ManagementCluster management", "field kubernetesVersion: missing"}},
		{"not a Kubernetes version", strings.Replace(management, "v1.36.3", "v1.36", 1), []string{"bad.yaml:5", "ManagementCluster management", `field kubernetesVersion: "v1.36" is not a valid Kubernetes version`}},
		{"a version that is not a string", strings.Replace(management, "v1.36.3", "1.36", 1), []string{"bad.yaml:5", "field kubernetesVersion: expected a string, got number"}},
		{"a namespace", strings.Replace(management, "  name: management\n", "  name: management\n  namespace: capi-system\n", 1), []string{"bad.yaml:5", "ManagementCluster capi-system/management", "field metadata.namespace: a ManagementCluster is not namespaced"}},
		{"no name", strings.Replace(management, "  name: management\n", "  {}\n", 1), []string{"field metadata.name: missing"}},
		{"two records", management + "---\n" + strings.Replace(management, "name: management", "name: other", 1),
			[]string{"document 2", "a second ManagementCluster (other; management was already read): the input describes one management cluster"}},
		{"the same record twice", management + "---\n" + management, []string{"document 2", "already read from"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			readFails(t, dir, tt.content, tt.want)
		})
	}
}

// Another kind of capi-planner's group is skipped with a warning.
func TestReadUnknownCapiPlannerKind(t *testing.T) {
	var logs bytes.Buffer
	p := write(t, t.TempDir(), "f.yaml", cluster+"---\napiVersion: capi-planner.io/v1alpha1\nkind: ManagementClustr\nmetadata: {name: m}\nkubernetesVersion: v1.36.3\n")
	st, err := Read(t.Context(), []string{p}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if st.Management != nil || !strings.Contains(logs.String(), "capi-planner reads one kind of capi-planner.io from snapshots, ManagementCluster (capi-planner.io/v1alpha1), not ManagementClustr") {
		t.Errorf("management %+v, logs %s", st.Management, logs.String())
	}
}

// What Write writes of the management cluster, Read reads back; a state
// without it writes no record.
func TestWriteManagementClusterRoundTrip(t *testing.T) {
	st, err := Read(t.Context(), []string{write(t, t.TempDir(), "f.yaml", cluster)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, st, "h"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "ManagementCluster") {
		t.Errorf("a record of an unknown version was written:\n%s", b.String())
	}
	st.Management = state.NewManagementCluster("v1.33.5+k3s1")
	b.Reset()
	if err := Write(&b, st, "h"); err != nil {
		t.Fatal(err)
	}
	if want := "# h\n---\napiVersion: capi-planner.io/v1alpha1\nkind: ManagementCluster\nkubernetesVersion: v1.33.5+k3s1\nmetadata:\n  name: management\n---\n"; !strings.HasPrefix(b.String(), want) {
		t.Errorf("written:\n%s\nwant it to start with:\n%s", b.String(), want)
	}
	back, err := Read(t.Context(), []string{write(t, t.TempDir(), "back.yaml", b.String())}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if back.Management == nil || back.Management.KubernetesVersion != "v1.33.5+k3s1" || back.Management.Name != "management" || len(back.Clusters) != 1 {
		t.Errorf("read back: %+v, %d clusters", back.Management, len(back.Clusters))
	}
	if objs := Objects(back); len(objs) != 1 {
		t.Errorf("Objects holds %d objects, want the Cluster only (no API server serves the record)", len(objs))
	}
}
