package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/state"
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
	st, err := Read(t.Context(), []string{"../../fixtures"}, Options{})
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
	st, err := Read(t.Context(), []string{"../../fixtures/unmanaged"}, Options{})
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
    classRef: {name: cc}
    version: v1.33.4
`

func TestReadListAndStdin(t *testing.T) {
	list := "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(cluster), "\n", "\n  ") + "\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n"
	st, err := Read(t.Context(), []string{Stdin}, Options{Stdin: strings.NewReader(list)})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Clusters) != 1 || st.Clusters[0].Spec.Topology.Version != "v1.33.4" {
		t.Errorf("clusters = %+v", st.Clusters)
	}
	if _, err := Read(t.Context(), []string{Stdin}, Options{}); err == nil {
		t.Error("reading - without stdin must fail")
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          []string
	}{
		{"malformed YAML", "# a comment\n" + cluster + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: [a\n", []string{"bad.yaml:15", "document 2", "malformed YAML"}},
		{"type error", cluster + "---\napiVersion: cluster.x-k8s.io/v1beta2\nkind: MachineDeployment\nmetadata: {name: md, namespace: ns}\nspec:\n  replicas: three\n", []string{"document 2", "MachineDeployment ns/md", "field spec.replicas: expected an integer, got string"}},
		{"no kind", "metadata:\n  name: x\n", []string{"document 1", "apiVersion and kind"}},
		{"no name", "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {namespace: ns}\n", []string{"metadata.name"}},
		{"old version", "apiVersion: cluster.x-k8s.io/v1alpha4\nkind: Cluster\nmetadata: {name: c, namespace: ns}\n", []string{"v1alpha4 is not supported", "cluster.x-k8s.io/v1beta1, cluster.x-k8s.io/v1beta2"}},
		{"duplicate", cluster + "---\n" + cluster, []string{"document 2", "already read from", "(document 1)"}},
		{"scalar", "just a string\n", []string{"expected a Kubernetes object"}},
		{"control plane version", "apiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: AcmeControlPlane\nmetadata: {name: cp, namespace: ns}\nspec: {version: 1.33}\n", []string{"field spec.version: expected a string"}},
		{"duplicate key", "apiVersion: cluster.x-k8s.io/v1beta2\nkind: MachineDeployment\nmetadata: {name: md, namespace: ns}\nspec:\n  replicas: 3\n  replicas: 30\n", []string{"bad.yaml:6", `duplicate key "replicas": line 6 repeats the one at line 5`}},
		{"duplicate key in JSON", "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\",\n \"metadata\": {\"name\": \"a\",\n \"name\": \"b\"}}\n", []string{`duplicate key "name": line 3 repeats the one at line 2`}},
		{"malformed JSON", "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}\n{\"kind\":\n", []string{"bad.yaml:2", "malformed JSON"}},
		{"NUL byte", "a: 1\nb: \x00\n", []string{"bad.yaml:2", "NUL byte", "UTF-16 text without a byte-order mark"}},
		{"UTF-16 without BOM", "a\x00:\x00 \x001\x00\n\x00", []string{"NUL byte"}},
		{"no namespace", "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {name: c}\n", []string{"Cluster c", "field metadata.namespace: missing", "add metadata.namespace"}},
		{"items not a list", "apiVersion: v1\nkind: List\nitems: {a: 1}\n", []string{"field items: expected a list of objects, found a mapping"}},
	}
	for _, v := range []string{"1.35.4", "v1.35", "v01.35.4", "latest"} {
		tests = append(tests, struct {
			name, content string
			want          []string
		}{"topology version " + v, strings.Replace(cluster, "v1.33.4", v, 1), []string{"field spec.topology.version", `"` + v + `" is not a valid Kubernetes version`, "such as v1.35.4"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readFails(t, dir, tt.content, tt.want)
		})
	}
}

// What is read whole, and what is read with a warning on stderr.
func TestReadWholeAndWarn(t *testing.T) {
	jsonCluster := `{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"Cluster","metadata":{"name":"%s","namespace":"ns"},"spec":{"paused":false}}`
	utf16 := func(s string, bigEndian bool) string {
		var b strings.Builder
		if bigEndian {
			b.WriteString("\xFE\xFF")
		} else {
			b.WriteString("\xFF\xFE")
		}
		for _, r := range s {
			if bigEndian {
				b.WriteByte(0)
				b.WriteByte(byte(r))
			} else {
				b.WriteByte(byte(r))
				b.WriteByte(0)
			}
		}
		return b.String()
	}
	two := cluster + "---\n" + strings.Replace(cluster, "name: c", "name: d", 1)
	tests := []struct {
		name, content string
		clusters      int
		warning       []string
	}{
		{"json lines", fmt.Sprintf(jsonCluster+"\n"+jsonCluster+"\n", "c", "d"), 2, nil},
		{"concatenated json", fmt.Sprintf("  \n"+jsonCluster+jsonCluster, "c", "d"), 2, nil},
		{"utf-8 bom", "\xEF\xBB\xBF" + two, 2, nil},
		{"utf-16le", utf16(two, false), 2, nil},
		{"utf-16be", utf16(two, true), 2, nil},
		{"items null", cluster + "---\napiVersion: v1\nkind: List\nitems: null\n", 1, []string{"document 2", "List with no items"}},
		{"kind typo", cluster + "---\napiVersion: cluster.x-k8s.io/v1beta2\nkind: MachineDeploymnet\nmetadata: {name: md, namespace: ns}\n", 1,
			[]string{"f.yaml:11 (document 2, MachineDeploymnet ns/md)", "MachineDeploymnet is not a kind of cluster.x-k8s.io", "the plan leaves it out"}},
		{"group typo", cluster + "---\napiVersion: clusters.x-k8s.io/v1beta2\nkind: Machine\nmetadata: {name: m, namespace: ns}\n", 1,
			[]string{"capi-planner reads Machine objects of group cluster.x-k8s.io, not clusters.x-k8s.io"}},
		{"unknown group", cluster + "---\napiVersion: infrastucture.cluster.x-k8s.io/v1beta1\nkind: DockerMachine\nmetadata: {name: t, namespace: ns}\n", 1,
			[]string{"infrastucture.cluster.x-k8s.io is not an API group of Cluster API"}},
		{"unknown version", cluster + "---\napiVersion: cluster.x-k8s.io/v1beta3\nkind: MachineDrainRule\nmetadata: {name: m, namespace: ns}\n", 1,
			[]string{"v1beta3 is not a version of MachineDrainRule", "v1beta1, v1beta2"}},
		{"provider kinds are not warned about", cluster + "---\napiVersion: infrastructure.cluster.x-k8s.io/v1beta1\nkind: DockerMachine\nmetadata: {name: m, namespace: ns}\n", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			p := write(t, t.TempDir(), "f.yaml", tt.content)
			st, err := Read(t.Context(), []string{p}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Clusters) != tt.clusters {
				t.Errorf("%d clusters, want %d", len(st.Clusters), tt.clusters)
			}
			for _, w := range tt.warning {
				if !strings.Contains(logs.String(), w) || !strings.Contains(logs.String(), "level=WARN") {
					t.Errorf("no warning %q in %s", w, logs.String())
				}
			}
			if tt.warning == nil && logs.Len() > 0 {
				t.Errorf("unexpected warning: %s", logs.String())
			}
		})
	}
}

// Limits name the file or the document's line, and the limit.
func TestReadLimits(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "big.yaml", cluster+"---\n"+cluster)
	_, err := Read(t.Context(), []string{p}, Options{MaxFileSize: 100})
	var le *LimitError
	if !errors.As(err, &le) || le.Document || !strings.Contains(err.Error(), "big.yaml: larger than the limit of 100 bytes per file") {
		t.Errorf("file limit: %v", err)
	}
	_, err = Read(t.Context(), []string{Stdin}, Options{Stdin: strings.NewReader(cluster + "---\n" + cluster), MaxFileSize: 150})
	if !errors.As(err, &le) || le.Document || le.File != "<stdin>" {
		t.Errorf("stdin limit: %v", err)
	}
	_, err = Read(t.Context(), []string{p}, Options{MaxDocumentSize: 50})
	if !errors.As(err, &le) || !le.Document || !strings.Contains(err.Error(), "big.yaml:1: the document starting here is larger than the limit of 50 bytes per document") {
		t.Errorf("document limit: %v", err)
	}
}

// Only regular files are read: a FIFO is refused at once, also inside a directory.
func TestReadRefusesSpecialFiles(t *testing.T) {
	if goruntime.GOOS == "windows" {
		t.Skip("no FIFOs")
	}
	dir := t.TempDir()
	write(t, dir, "a.yaml", cluster)
	fifo := filepath.Join(dir, "b.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, dir} {
		_, err := Read(t.Context(), []string{p}, Options{})
		if err == nil || !strings.Contains(err.Error(), "-f "+fifo+": is a FIFO (named pipe)") {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := Read(t.Context(), []string{os.DevNull}, Options{}); err == nil || !strings.Contains(err.Error(), "is a character device") {
		t.Errorf("%s: %v", os.DevNull, err)
	}
}

// A canceled read stops with the context's error.
func TestReadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Read(ctx, []string{Stdin}, Options{Stdin: strings.NewReader(cluster)}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestReadPaths(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(t.Context(), []string{filepath.Join(dir, "missing.yaml")}, Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Read(t.Context(), []string{dir}, Options{}); err == nil || !strings.Contains(err.Error(), "no .yaml") {
		t.Errorf("empty directory: %v", err)
	}
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, sub, "c.yml", cluster)
	write(t, sub, "notes.txt", "not yaml: [")
	st, err := Read(t.Context(), []string{dir}, Options{})
	if err != nil || len(st.Clusters) != 1 {
		t.Errorf("recursive read: %v, %d clusters", err, len(st.Clusters))
	}
}

// split collects the documents of a stream with their first lines.
func split(t *testing.T, in string, maxDoc int64) ([]document, error) {
	t.Helper()
	var docs []document
	s := &splitter{file: "f", maxDoc: maxDoc, ctx: t.Context(), emit: func(d document) error {
		docs = append(docs, d)
		return nil
	}}
	return docs, s.split(strings.NewReader(in))
}

func TestSplitDocumentsKeepsLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than the read buffer
	tests := []struct {
		name, in string
		lines    []int
	}{
		{"yaml", "# head\n\na: 1\n---\n# c\nb: 2\n...\n---\nc: 3\n", []int{3, 6, 9}},
		{"long line", "a: " + long + "\n---\nb: 1\n", []int{1, 3}},
		{"json lines", "\n{\"a\": 1}\n{\"b\": 2}\n\n{\"c\":\n 3}\n", []int{2, 3, 5}},
		{"concatenated json", "{\"a\": 1}{\"b\": 2}", []int{1, 1}},
		{"json brackets and quotes in strings", "{\"a\": \"}]\\\"{\\\\\"}\n{\"b\": [\"]\", {\"c\": \"\\n\"}]}\n", []int{1, 2}},
		{"json scalars between objects", "{\"a\": 1}\n\"s\"\n12.5e3 true\nnull{\"b\": 2}", []int{1, 2, 3, 3, 4, 4}},
		{"long json value", "{\"a\": \"" + long + "\"}\n{\"b\":\n1}\n", []int{1, 2}},
		{"utf-8 bom", "\xEF\xBB\xBFa: 1\n", []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := split(t, tt.in, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, d := range docs {
				got = append(got, d.startLine)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.lines) {
				t.Errorf("documents start at %v, want %v", got, tt.lines)
			}
		})
	}
}

// Malformed JSON is refused at the line of the problem, before any value
// after it is read.
func TestSplitJSONErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"{\"a\": 1}\n{\"b\":\n  1 2}\n", "f:3 (document 2): malformed JSON: invalid character '2' after object key:value pair"},
		{"{\"a\": 1}\n}\n", "f:2 (document 2): malformed JSON: invalid character '}' looking for beginning of value"},
		{"{\"a\": 1}\n{\"b\": [1,\n", "f:2 (document 2): malformed JSON: the file ends inside the value starting here"},
		{"{\"a\": 1}\n{\"b\": \"open\n", "f:2 (document 2): malformed JSON: the file ends inside the value starting here"},
		{"{\"a\": 1}\nnul\n", `f:2 (document 2): malformed JSON: "nul" is not a JSON value`},
	} {
		docs, err := split(t, tc.in, 1<<20)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || len(docs) != 1 {
			t.Errorf("%q: got %d documents and %v, want one and %s", tc.in, len(docs), err, tc.want)
		}
	}
}

func TestSplitDocumentLimit(t *testing.T) {
	for _, in := range []string{"a: 1\n---\nb: " + strings.Repeat("y", 100) + "\n", "{\"a\": 1}\n{\"b\": \"" + strings.Repeat("y", 100) + "\"}"} {
		_, err := split(t, in, 50)
		var le *LimitError
		if !errors.As(err, &le) || !le.Document || le.Limit != 50 {
			t.Errorf("%.20q: want a document LimitError, got %v", in, err)
		}
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
	st, err := Read(t.Context(), []string{Stdin}, Options{Stdin: strings.NewReader("apiVersion: \"cluster.x-k8s.io/v1beta2\"\nkind: 'Cluster'\nmetadata: {name: c, namespace: ns}\nspec: {paused: false}\n")})
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
	st, err := Read(t.Context(), []string{p}, Options{})
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
	again, err := Read(t.Context(), []string{write(t, dir, "again.yaml", out.String())}, Options{})
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
  selector: {}
  template:
    spec:
      clusterName: web
      bootstrap: {dataSecretName: web-md-0}
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DockerMachineTemplate, name: web-md-0}
`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Read(t.Context(), []string{path}, Options{})
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

// ClusterRoles and ClusterRoleBindings are read, kept without annotations, and
// written back; Roles and RoleBindings (which never grant nodes/proxy) are skipped.
func TestReadClusterRBAC(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "rbac.yaml", `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: prometheus
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"secret":"not kept"}'
rules:
- apiGroups: [""]
  resources: ["nodes/proxy"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: prometheus
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: prometheus}
subjects:
- {kind: ServiceAccount, namespace: monitoring, name: prometheus}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: local
  namespace: monitoring
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: prometheus}
subjects:
- {kind: User, name: bob}
`)
	st, err := Read(t.Context(), []string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ClusterRoles) != 1 || len(st.ClusterRoles[0].Rules) != 1 || st.ClusterRoles[0].Annotations != nil ||
		len(st.ClusterRoleBindings) != 1 || st.ClusterRoleBindings[0].Subjects[0].Namespace != "monitoring" {
		t.Fatalf("read: %+v %+v", st.ClusterRoles, st.ClusterRoleBindings)
	}
	var out bytes.Buffer
	if err := Write(&out, st, ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "not kept") || strings.Contains(out.String(), "bob") || strings.Count(out.String(), "kind: ClusterRole") != 3 {
		t.Errorf("written:\n%s", out.String())
	}
	again, err := Read(t.Context(), []string{write(t, dir, "again.yaml", out.String())}, Options{})
	if err != nil || len(again.ClusterRoles) != 1 || len(again.ClusterRoleBindings) != 1 || again.ClusterRoleBindings[0].RoleRef.Name != "prometheus" {
		t.Fatalf("read back: %v, %+v", err, again)
	}
}

// readFails reads content as a snapshot file in dir and checks that it is refused
// with one error line containing every want.
func readFails(t *testing.T, dir, content string, want []string) {
	t.Helper()
	p := write(t, dir, "bad.yaml", content)
	_, err := Read(t.Context(), []string{p}, Options{})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans several lines: %q", err)
	}
}

// A List is decoded item by item, and a canceled context stops it between
// items: one document can hold hundreds of megabytes of them. Both ways of
// reading a List's items are covered: split from the text (YAML as kubectl
// writes it) and from the parsed document (JSON on one line).
func TestDecodeListStopsWhenCanceled(t *testing.T) {
	conv, err := scheme.NewConverter(scheme.New())
	if err != nil {
		t.Fatal(err)
	}
	item := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n  namespace: default\n"
	var yamlList strings.Builder
	yamlList.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := range 50 {
		yamlList.WriteString("- " + strings.ReplaceAll(fmt.Sprintf(item, i), "\n", "\n  ") + "\n")
	}
	var items []string
	for i := range 50 {
		items = append(items, fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d","namespace":"default"}}`, i))
	}
	jsonList := `{"apiVersion":"v1","kind":"List","items":[` + strings.Join(items, ",") + "]}"
	for name, doc := range map[string]string{"YAML": yamlList.String(), "JSON": jsonList} {
		r := &reader{opts: Options{Logger: slog.New(slog.DiscardHandler)}, conv: conv, st: &state.State{}, seen: map[state.ObjectKey]string{}}
		d := document{index: 1, startLine: 1, data: []byte(doc)}
		if got := r.decodeDocument(t.Context(), "list.yaml", d); got.err != nil {
			t.Fatalf("%s: %v", name, got.err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if got := r.decodeDocument(ctx, "list.yaml", d); !errors.Is(got.err, context.Canceled) || len(got.objects) != 0 {
			t.Errorf("%s, canceled: err %v, %d objects", name, got.err, len(got.objects))
		}
	}
}

// cancelAfter is a reader that cancels a context once it has given n bytes.
type cancelAfter struct {
	r      io.Reader
	n      int
	read   int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.read += n; c.read > c.n {
		c.cancel()
	}
	return n, err
}

// Splitting one large YAML document looks at the context as it goes, not
// only at the document's end.
func TestSplitLargeDocumentStopsWhenCanceled(t *testing.T) {
	var doc strings.Builder
	doc.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: default\ndata:\n")
	for i := 0; doc.Len() < 16<<20; i++ {
		fmt.Fprintf(&doc, "  k%d: %s\n", i, strings.Repeat("x", 100))
	}
	ctx, cancel := context.WithCancel(t.Context())
	in := &cancelAfter{r: strings.NewReader(doc.String()), n: 1 << 20, cancel: cancel}
	if _, err := Read(ctx, []string{Stdin}, Options{Stdin: in}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if in.read > 4<<20 {
		t.Errorf("read %d bytes of %d after the context was canceled at 1 MiB", in.read, doc.Len())
	}
}
