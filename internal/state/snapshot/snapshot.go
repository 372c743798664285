// Package snapshot reads a management cluster's state from YAML or JSON files,
// as `kubectl get ... -o yaml` and `capi-planner snapshot` write them.
package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	controlplanev1beta1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta1"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1beta1 "sigs.k8s.io/cluster-api/api/core/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1alpha1 "sigs.k8s.io/cluster-api/api/runtime/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/internal/state"
)

// Stdin is the file name that stands for standard input.
const Stdin = "-"

// Options configure a Reader.
type Options struct {
	// Stdin is read for the file name "-".
	Stdin io.Reader
	// Logger receives debug messages about skipped documents.
	Logger *slog.Logger
}

// Error is a problem with one document of one input file.
type Error struct {
	File     string
	Line     int    // first line of the document, or of the YAML error when known
	Document int    // 1-based index of the document in the file
	Item     int    // 1-based index in a List's items, 0 when not in a List
	Object   string // Kind namespace/name, when known
	Msg      string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	fmt.Fprintf(&b, " (document %d", e.Document)
	if e.Item > 0 {
		fmt.Fprintf(&b, ", item %d", e.Item)
	}
	if e.Object != "" {
		b.WriteString(", " + e.Object)
	}
	b.WriteString("): " + e.Msg)
	return b.String()
}

// Read reads every path (a file, a directory read recursively for *.yaml, *.yml
// and *.json, or "-" for stdin) into one State.
func Read(paths []string, opts Options) (*state.State, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	conv, err := scheme.NewConverter(scheme.New())
	if err != nil {
		return nil, err
	}
	r := &reader{opts: opts, conv: conv, st: &state.State{}, seen: map[state.ObjectKey]string{}}
	for _, p := range paths {
		if err := r.readPath(p); err != nil {
			return nil, err
		}
	}
	r.st.Sort()
	return r.st, nil
}

type reader struct {
	opts Options
	conv *scheme.Converter
	st   *state.State
	seen map[state.ObjectKey]string // where each object was read, to catch conflicting duplicates
}

func (r *reader) readPath(p string) error {
	if p == Stdin {
		if r.opts.Stdin == nil {
			return errors.New("-f -: no standard input available")
		}
		return r.readStream("<stdin>", r.opts.Stdin)
	}
	info, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("-f %s: %w", p, unwrapPathError(err))
	}
	if !info.IsDir() {
		return r.readFile(p)
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && isManifest(path) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("-f %s: %w", p, unwrapPathError(err))
	}
	if len(files) == 0 {
		return fmt.Errorf("-f %s: the directory holds no .yaml, .yml or .json file", p)
	}
	sort.Strings(files)
	for _, f := range files {
		if err := r.readFile(f); err != nil {
			return err
		}
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func isManifest(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func (r *reader) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("-f %s: %w", path, unwrapPathError(err))
	}
	defer f.Close()
	return r.readStream(path, f)
}

func (r *reader) readStream(name string, in io.Reader) error {
	docs, err := splitDocuments(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, d := range docs {
		if err := r.readDocument(name, d); err != nil {
			return err
		}
	}
	return nil
}

var yamlLineRE = regexp.MustCompile(`^(?:error converting YAML to JSON: )?yaml: line (\d+): (.*)$`)

func (r *reader) readDocument(file string, d document) error {
	fail := func(item int, obj, format string, args ...any) error {
		return &Error{File: file, Line: d.startLine, Document: d.index, Item: item, Object: obj, Msg: fmt.Sprintf(format, args...)}
	}
	raw, err := yaml.YAMLToJSON(d.data)
	if err != nil {
		e := fail(0, "", "malformed YAML: %v", err).(*Error)
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			e.Line = d.startLine + n - 1
			e.Msg = "malformed YAML: " + m[2]
		}
		return e
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return fail(0, "", "expected a Kubernetes object (a mapping with apiVersion and kind), found %s", describeJSON(raw))
	}
	u := &unstructured.Unstructured{Object: obj}
	if isList(u) {
		items, _, err := unstructured.NestedSlice(obj, "items")
		if err != nil {
			return fail(0, "", "field items: expected a list of objects")
		}
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return fail(i+1, "", "expected a Kubernetes object, found %T", it)
			}
			if err := r.readObject(&unstructured.Unstructured{Object: m}); err != nil {
				return fail(i+1, describe(m), "%v", err)
			}
			r.recordSeen(m, fmt.Sprintf("%s (document %d, item %d)", file, d.index, i+1))
		}
		return nil
	}
	if err := r.readObject(u); err != nil {
		return fail(0, describe(obj), "%v", err)
	}
	r.recordSeen(obj, fmt.Sprintf("%s (document %d)", file, d.index))
	return nil
}

func describeJSON(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "null" || s == "":
		return "an empty document"
	case strings.HasPrefix(s, "["):
		return "a list"
	default:
		return "a scalar value"
	}
}

func isList(u *unstructured.Unstructured) bool {
	_, hasItems := u.Object["items"]
	return hasItems && strings.HasSuffix(u.GetKind(), "List")
}

func describe(obj map[string]any) string {
	u := &unstructured.Unstructured{Object: obj}
	kind := u.GetKind()
	if kind == "" {
		return ""
	}
	if u.GetNamespace() != "" {
		return fmt.Sprintf("%s %s/%s", kind, u.GetNamespace(), u.GetName())
	}
	return fmt.Sprintf("%s %s", kind, u.GetName())
}

// recordSeen remembers where an object was read (only objects that were kept).
func (r *reader) recordSeen(obj map[string]any, where string) {
	u := &unstructured.Unstructured{Object: obj}
	k := state.KeyOf(u)
	if _, ok := r.seen[k]; !ok {
		r.seen[k] = where
	}
}

func (r *reader) readObject(u *unstructured.Unstructured) error {
	apiVersion, kind := u.GetAPIVersion(), u.GetKind()
	if apiVersion == "" || kind == "" {
		return errors.New("field apiVersion and kind: every object needs both; is this a Kubernetes manifest?")
	}
	if u.GetName() == "" {
		return errors.New("field metadata.name: missing")
	}
	if where, dup := r.seen[state.KeyOf(u)]; dup {
		return fmt.Errorf("the same object was already read from %s; pass each object once", where)
	}
	obj, err := r.decode(u)
	if err != nil || obj == nil {
		return err
	}
	if cp, ok := obj.(*unstructured.Unstructured); ok && state.IsControlPlaneKind(cp.GroupVersionKind().Group, kind) {
		if err := checkContractVersion(cp); err != nil {
			return err
		}
	}
	return r.st.Add(obj)
}

// hubKinds are the kinds read as typed v1beta2 objects, with the Go types of
// the other versions they may be written in.
var hubKinds = map[schema.GroupKind]func() (hub runtime.Object, spokes map[string]runtime.Object){
	{Group: clusterv1.GroupVersion.Group, Kind: "Cluster"}: func() (runtime.Object, map[string]runtime.Object) {
		return &clusterv1.Cluster{}, map[string]runtime.Object{"v1beta1": &clusterv1beta1.Cluster{}}
	},
	{Group: clusterv1.GroupVersion.Group, Kind: "ClusterClass"}: func() (runtime.Object, map[string]runtime.Object) {
		return &clusterv1.ClusterClass{}, map[string]runtime.Object{"v1beta1": &clusterv1beta1.ClusterClass{}}
	},
	{Group: clusterv1.GroupVersion.Group, Kind: "MachineDeployment"}: func() (runtime.Object, map[string]runtime.Object) {
		return &clusterv1.MachineDeployment{}, map[string]runtime.Object{"v1beta1": &clusterv1beta1.MachineDeployment{}}
	},
	{Group: clusterv1.GroupVersion.Group, Kind: "MachineSet"}: func() (runtime.Object, map[string]runtime.Object) {
		return &clusterv1.MachineSet{}, map[string]runtime.Object{"v1beta1": &clusterv1beta1.MachineSet{}}
	},
	{Group: clusterv1.GroupVersion.Group, Kind: "MachinePool"}: func() (runtime.Object, map[string]runtime.Object) {
		return &clusterv1.MachinePool{}, map[string]runtime.Object{"v1beta1": &clusterv1beta1.MachinePool{}}
	},
	{Group: clusterv1.GroupVersion.Group, Kind: "Machine"}: func() (runtime.Object, map[string]runtime.Object) {
		return &clusterv1.Machine{}, map[string]runtime.Object{"v1beta1": &clusterv1beta1.Machine{}}
	},
	{Group: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane"}: func() (runtime.Object, map[string]runtime.Object) {
		return &controlplanev1.KubeadmControlPlane{}, map[string]runtime.Object{"v1beta1": &controlplanev1beta1.KubeadmControlPlane{}}
	},
	{Group: runtimev1.GroupVersion.Group, Kind: "ExtensionConfig"}: func() (runtime.Object, map[string]runtime.Object) {
		return &runtimev1.ExtensionConfig{}, map[string]runtime.Object{"v1alpha1": &runtimev1alpha1.ExtensionConfig{}}
	},
}

// decode returns the object to keep, or nil for a kind planning does not use.
func (r *reader) decode(u *unstructured.Unstructured) (runtime.Object, error) {
	gvk := u.GroupVersionKind()
	if newKind, ok := hubKinds[gvk.GroupKind()]; ok {
		hub, spokes := newKind()
		spokes["v1beta2"] = hub
		return hub, r.decodeVersioned(u, hub, spokes)
	}
	switch {
	case gvk.Group == "" && gvk.Kind == "Namespace":
		ns := &corev1.Namespace{}
		return ns, decodeInto(u, ns)
	case gvk.Group == "apps" && gvk.Kind == "Deployment":
		if _, ok := u.GetLabels()[state.ProviderLabel]; !ok {
			break // not a CAPI controller
		}
		d := &appsv1.Deployment{}
		return d, decodeInto(u, d)
	case state.IsControlPlaneKind(gvk.Group, gvk.Kind), state.IsTemplateKind(gvk.Group, gvk.Kind),
		gvk.Group == state.ClusterctlGroup && gvk.Kind == "Provider":
		return u, nil
	}
	r.opts.Logger.Debug("skipping a kind capi-planner does not plan with", "apiVersion", u.GetAPIVersion(), "kind", gvk.Kind, "name", u.GetName())
	return nil, nil
}

// checkContractVersion checks the contract field other providers' control planes are read through.
func checkContractVersion(u *unstructured.Unstructured) error {
	if v, found, err := unstructured.NestedFieldNoCopy(u.Object, "spec", "version"); found && err == nil {
		if _, ok := v.(string); !ok {
			return fmt.Errorf("field spec.version: expected a string such as v1.33.4, got %v", v)
		}
	}
	return nil
}

// decodeVersioned decodes u into the Go type registered for its apiVersion in
// byVersion and converts it into target (the v1beta2 hub) with CAPI's own
// conversion webhook code.
func (r *reader) decodeVersioned(u *unstructured.Unstructured, target runtime.Object, byVersion map[string]runtime.Object) error {
	gv := u.GroupVersionKind().GroupVersion()
	into, ok := byVersion[gv.Version]
	if !ok {
		versions := make([]string, 0, len(byVersion))
		for v := range byVersion {
			versions = append(versions, gv.Group+"/"+v)
		}
		sort.Strings(versions)
		return fmt.Errorf("field apiVersion: %s is not supported for %s; expected one of %s (re-export it with kubectl get, which returns a served version)",
			u.GetAPIVersion(), u.GetKind(), strings.Join(versions, ", "))
	}
	if err := decodeInto(u, into); err != nil {
		return err
	}
	if into == target {
		return nil
	}
	if err := r.conv.Convert(context.Background(), into, target); err != nil {
		return fmt.Errorf("converting %s to %s: %w", u.GetAPIVersion(), gv.Group+"/v1beta2", err)
	}
	return nil
}

// decodeInto decodes an object with encoding/json so that type errors name the field.
func decodeInto(u *unstructured.Unstructured, into any) error {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, into); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("field %s: expected %s, got %s", te.Field, jsonTypeName(te.Type.String()), te.Value)
		}
		return fmt.Errorf("cannot decode: %v", err)
	}
	return nil
}

func jsonTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean (true or false)"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	default:
		return "a " + goType
	}
}
