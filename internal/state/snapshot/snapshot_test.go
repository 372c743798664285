package snapshot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadFixtures(t *testing.T) {
	st, err := Read([]string{"../../../fixtures"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Clusters) < 10 || len(st.ClusterClasses) < 8 || len(st.ControlPlanes) != len(st.Clusters) || len(st.Machines) == 0 || len(st.ExtensionConfigs) < 2 || len(st.MachinePools) == 0 || len(st.Templates) == 0 {
		t.Errorf("fixtures read incompletely: %d clusters, %d classes, %d control planes, %d machines, %d extensions, %d pools, %d templates",
			len(st.Clusters), len(st.ClusterClasses), len(st.ControlPlanes), len(st.Machines), len(st.ExtensionConfigs), len(st.MachinePools), len(st.Templates))
	}
}

// The unmanaged fixture is written in v1beta1: it must read as CAPI's
// conversion webhooks would serve it in v1beta2.
func TestReadV1Beta1(t *testing.T) {
	st, err := Read([]string{"../../../fixtures/unmanaged"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := st.Clusters[0]
	if ref := c.Spec.ControlPlaneRef; ref.APIGroup != "controlplane.cluster.x-k8s.io" || ref.Kind != "KubeadmControlPlane" || ref.Name != "db-control-plane" {
		t.Errorf("controlPlaneRef = %+v", ref)
	}
	if cp := st.ControlPlane(c); cp == nil {
		t.Fatal("the control plane is not found through the converted reference")
	} else if v, _, _ := unstructured.NestedString(cp.Object, "spec", "version"); v != "v1.33.4" || cp.GetAPIVersion() != "controlplane.cluster.x-k8s.io/v1beta2" {
		t.Errorf("control plane %s version %s", cp.GetAPIVersion(), v)
	}
	for _, md := range st.MachineDeployments {
		if r := md.Spec.Template.Spec.Bootstrap.ConfigRef; r.APIGroup != "bootstrap.cluster.x-k8s.io" || r.Kind != "KubeadmConfigTemplate" {
			t.Errorf("%s bootstrap ref %+v", md.Name, r)
		}
	}
	if len(st.MachinesOf(st.MachineDeployments[0])) == 0 {
		t.Error("Machines are not found for their MachineDeployment")
	}
}

const cluster = `apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: c
  namespace: ns
spec:
  topology:
    version: v1.33.4
`

func TestReadListAndStdin(t *testing.T) {
	list := "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(cluster), "\n", "\n  ") + "\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n"
	st, err := Read([]string{Stdin}, Options{Stdin: strings.NewReader(list)})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Clusters) != 1 || st.Clusters[0].Spec.Topology.Version != "v1.33.4" {
		t.Errorf("clusters = %+v", st.Clusters)
	}
	if _, err := Read([]string{Stdin}, Options{}); err == nil {
		t.Error("reading - without stdin must fail")
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          []string
	}{
		{"malformed YAML", "# a comment\n" + cluster + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: [a\n", []string{"bad.yaml:14", "document 2", "malformed YAML"}},
		{"type error", cluster + "---\napiVersion: cluster.x-k8s.io/v1beta2\nkind: MachineDeployment\nmetadata: {name: md, namespace: ns}\nspec:\n  replicas: three\n", []string{"document 2", "MachineDeployment ns/md", "field spec.replicas: expected an integer, got string"}},
		{"no kind", "metadata:\n  name: x\n", []string{"document 1", "apiVersion and kind"}},
		{"no name", "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {namespace: ns}\n", []string{"metadata.name"}},
		{"old version", "apiVersion: cluster.x-k8s.io/v1alpha4\nkind: Cluster\nmetadata: {name: c, namespace: ns}\n", []string{"v1alpha4 is not supported", "cluster.x-k8s.io/v1beta1, cluster.x-k8s.io/v1beta2"}},
		{"duplicate", cluster + "---\n" + cluster, []string{"document 2", "already read from", "(document 1)"}},
		{"scalar", "just a string\n", []string{"expected a Kubernetes object"}},
		{"control plane version", "apiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: AcmeControlPlane\nmetadata: {name: cp, namespace: ns}\nspec: {version: 1.33}\n", []string{"field spec.version: expected a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, dir, "bad.yaml", tt.content)
			_, err := Read([]string{p}, Options{})
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestReadPaths(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read([]string{filepath.Join(dir, "missing.yaml")}, Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Read([]string{dir}, Options{}); err == nil || !strings.Contains(err.Error(), "no .yaml") {
		t.Errorf("empty directory: %v", err)
	}
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, sub, "c.yml", cluster)
	write(t, sub, "notes.txt", "not yaml: [")
	st, err := Read([]string{dir}, Options{})
	if err != nil || len(st.Clusters) != 1 {
		t.Errorf("recursive read: %v, %d clusters", err, len(st.Clusters))
	}
}

func TestSplitDocumentsKeepsLines(t *testing.T) {
	docs, err := splitDocuments(bytes.NewBufferString("# head\n\na: 1\n---\n# c\nb: 2\n...\n---\nc: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, d := range docs {
		got = append(got, d.startLine)
	}
	if len(docs) != 3 || got[0] != 3 || got[1] != 6 || got[2] != 9 {
		t.Errorf("documents start at %v", got)
	}
}

func TestPeekHeader(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want header
		ok   bool
	}{
		{cluster, header{APIVersion: "cluster.x-k8s.io/v1beta2", Kind: "Cluster"}, true},
		{"kind: List\napiVersion: v1\nitems: []\n", header{}, false},
		{"apiVersion: \"v1\"\nkind: Namespace\n", header{}, false},
		{"{\"apiVersion\": \"v1\", \"kind\": \"Namespace\"}", header{}, false},
		{"metadata:\n  kind: Nested\napiVersion: v1\n", header{}, false},
	} {
		got, ok := peekHeader([]byte(tc.doc))
		if ok != tc.ok || (ok && (got.APIVersion != tc.want.APIVersion || got.Kind != tc.want.Kind)) {
			t.Errorf("peekHeader(%q) = %+v, %v", tc.doc, got, ok)
		}
	}
	// Quoted values fall back to the JSON header and read the same.
	st, err := Read([]string{Stdin}, Options{Stdin: strings.NewReader("apiVersion: \"cluster.x-k8s.io/v1beta2\"\nkind: 'Cluster'\nmetadata: {name: c, namespace: ns}\n")})
	if err != nil || len(st.Clusters) != 1 {
		t.Errorf("quoted header: %v", err)
	}
}

// CRDs: a CAPI provider's keeps its name and contract labels only; others are skipped;
// the metadata survives a write and a read.
func TestReadCRDMetadata(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "crds.yaml", `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: kubeadmcontrolplanes.controlplane.cluster.x-k8s.io
  labels:
    cluster.x-k8s.io/v1beta2: v1beta2
  annotations:
    controller-gen.kubebuilder.io/version: v0.18.0
spec:
  group: controlplane.cluster.x-k8s.io
  names: {kind: KubeadmControlPlane, plural: kubeadmcontrolplanes}
  scope: Namespaced
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: certificates.cert-manager.io
spec:
  group: cert-manager.io
`)
	st, err := Read([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.CRDs) != 1 || st.CRDs[0].Name != "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io" || st.CRDs[0].Labels["cluster.x-k8s.io/v1beta2"] != "v1beta2" || st.CRDs[0].Annotations != nil {
		t.Fatalf("CRDs read: %+v", st.CRDs)
	}
	var out bytes.Buffer
	if err := Write(&out, st, ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "spec") || !strings.Contains(out.String(), "cluster.x-k8s.io/v1beta2: v1beta2") {
		t.Errorf("written:\n%s", out.String())
	}
	again, err := Read([]string{write(t, dir, "again.yaml", out.String())}, Options{})
	if err != nil || len(again.CRDs) != 1 {
		t.Fatalf("read back: %v, %+v", err, again)
	}
}

// Every object read keeps its file and the first line of its document (its apiVersion line here).
func TestReadKeepsSources(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "objects.yaml")
	content := `# a comment
apiVersion: v1
kind: Namespace
metadata:
  name: prod
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata:
  name: web-md-0
  namespace: prod
spec:
  clusterName: web
`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Read([]string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		kind, namespace, name string
		line                  int
	}{{"Namespace", "", "prod", 2}, {"MachineDeployment", "prod", "web-md-0", 7}} {
		if src, ok := st.SourceOf(tt.kind, tt.namespace, tt.name); !ok || src.File != path || src.Line != tt.line {
			t.Errorf("%s %s: %+v %v, want %s:%d", tt.kind, tt.name, src, ok, path, tt.line)
		}
	}
	if _, ok := st.SourceOf("MachineDeployment", "prod", "other"); ok {
		t.Error("an object that was not read has a source")
	}
}
