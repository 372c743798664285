// Package snapshot reads a management cluster's state from YAML or JSON files,
// as `kubectl get ... -o yaml` and `capi-planner snapshot` write them.
package snapshot

//lint:file-ignore SA1019 capi-planner reads (and the fixtures are written in) the deprecated v1beta1 API on purpose.

import (
	"bytes"
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
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	controlplanev1beta1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta1"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1beta1 "sigs.k8s.io/cluster-api/api/core/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1alpha1 "sigs.k8s.io/cluster-api/api/runtime/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/internal/gctune"
	"github.com/capi-planner/capi-planner/internal/safefile"
	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/state"
)

// Stdin is the file name that stands for standard input.
const Stdin = "-"

// Default limits of Options.
const (
	DefaultMaxFileSize     = 1 << 30
	DefaultMaxDocumentSize = 256 << 20
)

// Options configure a Reader.
type Options struct {
	// Stdin is read for the file name "-".
	Stdin io.Reader
	// Logger receives warnings about objects the plan may miss, and debug
	// messages about skipped documents.
	Logger *slog.Logger
	// MaxFileSize and MaxDocumentSize bound what is read (the defaults when 0).
	MaxFileSize, MaxDocumentSize int64
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

// Read reads every path (a regular file, a directory read recursively for
// *.yaml, *.yml and *.json, or "-" for stdin) into one State. It reads nothing
// else: FIFOs, devices and sockets are refused, so that a read always ends.
// It stops with ctx's error once ctx is canceled.
func Read(ctx context.Context, paths []string, opts Options) (*state.State, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.MaxDocumentSize <= 0 {
		opts.MaxDocumentSize = DefaultMaxDocumentSize
	}
	conv, err := scheme.NewConverter(scheme.New())
	if err != nil {
		return nil, err
	}
	r := &reader{opts: opts, conv: conv, st: &state.State{}, seen: map[state.ObjectKey]string{}}
	for _, p := range paths {
		if err := r.readPath(ctx, p); err != nil {
			return nil, err
		}
	}
	r.st.Sort()
	return r.st, nil
}

// stdinName names standard input in errors; objects read from it have no Source.
const stdinName = "<stdin>"

type reader struct {
	opts Options
	conv *scheme.Converter
	st   *state.State
	seen map[state.ObjectKey]string // where each object was read, to catch conflicting duplicates
}

func (r *reader) readPath(ctx context.Context, p string) error {
	if p == Stdin {
		if r.opts.Stdin == nil {
			return errors.New("-f -: no standard input available")
		}
		return r.readStream(ctx, stdinName, r.opts.Stdin)
	}
	info, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("-f %s: %w", p, safefile.UnwrapPathError(err))
	}
	if !info.IsDir() {
		return r.readFile(ctx, p)
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
		return fmt.Errorf("-f %s: %w", p, safefile.UnwrapPathError(err))
	}
	if len(files) == 0 {
		return fmt.Errorf("-f %s: the directory holds no .yaml, .yml or .json file", p)
	}
	sort.Strings(files)
	for _, f := range files {
		if err := r.readFile(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

func isManifest(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func (r *reader) readFile(ctx context.Context, path string) error {
	f, info, err := safefile.Open(path)
	var nr *safefile.NotRegularError
	switch {
	case errors.As(err, &nr):
		return fmt.Errorf("-f %s: is %s; capi-planner reads regular files, directories of them, and - for standard input", path, nr.Type)
	case err != nil:
		return fmt.Errorf("-f %s: %w", path, safefile.UnwrapPathError(err))
	}
	defer f.Close()
	if info.Size() > r.opts.MaxFileSize {
		return &LimitError{File: path, Limit: r.opts.MaxFileSize}
	}
	return r.readStream(ctx, path, f)
}

// fileLimit fails a read of more than limit bytes.
type fileLimit struct {
	r    io.Reader
	left int64
	err  error
}

func (l *fileLimit) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, l.err
	}
	return n, err
}

// regularSize is the size of a regular file, 0 for anything else.
func regularSize(in io.Reader) int64 {
	f, ok := in.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return 0
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	return fi.Size()
}

// readStream decodes a stream as it is read: documents are decoded on every
// core while the next ones are read, then kept in order, so that errors and
// duplicates are found in file order and memory follows the largest documents.
func (r *reader) readStream(ctx context.Context, name string, in io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		doc document
		out chan decodedDocument
	}
	workers := goruntime.GOMAXPROCS(0)
	jobs, order := make(chan job), make(chan job, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				j.out <- r.decodeDocument(ctx, name, j.doc)
			}
		})
	}
	splitErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(jobs)
		s := &splitter{file: name, maxDoc: r.opts.MaxDocumentSize, size: regularSize(in), ctx: ctx, emit: func(d document) error {
			j := job{doc: d, out: make(chan decodedDocument, 1)}
			select {
			case order <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
			jobs <- j
			return nil
		}}
		limited := &fileLimit{r: in, left: r.opts.MaxFileSize, err: &LimitError{File: name, Limit: r.opts.MaxFileSize}}
		splitErr <- s.split(limited)
	}()
	var err error
	for j := range order {
		d := <-j.out
		if err != nil {
			continue // drain what is in flight
		}
		for _, w := range d.warnings {
			r.opts.Logger.Warn(w.Error())
		}
		if err = d.err; err == nil {
			for _, o := range d.objects {
				if err = r.keep(o); err != nil {
					break
				}
			}
		}
		if err != nil {
			cancel()
		}
	}
	wg.Wait()
	if err != nil {
		return err
	}
	if err = <-splitErr; err != nil {
		var le *LimitError
		var fe *Error
		if errors.As(err, &le) || errors.As(err, &fe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// decodedDocument is one document decoded: its objects and warnings, or the error that stops the read.
type decodedDocument struct {
	objects  []decodedObject
	warnings []error
	err      error
}

// decodedObject is one object of a document (obj is nil for a kind planning does not use).
type decodedObject struct {
	h     header
	obj   runtime.Object
	where string
	src   state.Source
	fail  func(format string, args ...any) error
}

var yamlLineRE = regexp.MustCompile(`^(?:error converting YAML to JSON: )?yaml: line (\d+): (.*)$`)

// header is the part of an object read before deciding how to decode it.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	// Items is a List's items: null when written so, nil when missing.
	Items json.RawMessage `json:"items"`
}

func (h header) gvk() schema.GroupVersionKind {
	gv, _ := schema.ParseGroupVersion(h.APIVersion)
	return gv.WithKind(h.Kind)
}

func (h header) key() state.ObjectKey {
	return state.ObjectKey{Group: h.gvk().Group, Kind: h.Kind, Namespace: h.Metadata.Namespace, Name: h.Metadata.Name}
}

func (h header) describe() string {
	switch {
	case h.Kind == "":
		return ""
	case h.Metadata.Namespace != "":
		return fmt.Sprintf("%s %s/%s", h.Kind, h.Metadata.Namespace, h.Metadata.Name)
	default:
		return h.Kind + " " + h.Metadata.Name
	}
}

// decodeDocument decodes one document; a canceled ctx stops it between the
// items of a List, which can be hundreds of megabytes.
func (r *reader) decodeDocument(ctx context.Context, file string, d document) decodedDocument {
	fail := func(item int, obj, format string, args ...any) error {
		return &Error{File: file, Line: d.startLine, Document: d.index, Item: item, Object: obj, Msg: fmt.Sprintf(format, args...)}
	}
	if i := bytes.IndexByte(d.data, 0); i >= 0 {
		e := fail(0, "", "found a NUL byte: this is binary data, or UTF-16 text without a byte-order mark; capi-planner reads YAML or JSON text in UTF-8 (or UTF-16 with a byte-order mark)").(*Error)
		e.Line += bytes.Count(d.data[:i], []byte("\n"))
		return decodedDocument{err: e}
	}
	if out, ok := r.decodeListItems(ctx, file, d, fail); ok {
		return out
	}
	raw, yamlErr := yaml.YAMLToJSONStrict(d.data)
	if yamlErr != nil {
		if key, line, first, ok := duplicateKey(d.data); ok {
			e := fail(0, "", "duplicate key %q: line %d repeats the one at line %d of the same mapping, and only one of them would count; keep one", key, d.startLine+line-1, d.startLine+first-1).(*Error)
			e.Line = d.startLine + line - 1
			return decodedDocument{err: e}
		}
		e := fail(0, "", "malformed YAML: %v", yamlErr).(*Error)
		if m := yamlLineRE.FindStringSubmatch(yamlErr.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			e.Line = d.startLine + n - 1
			e.Msg = "malformed YAML: " + m[2]
		}
		return decodedDocument{err: e}
	}
	h, ok := peekHeader(d.data)
	if !ok {
		// Lists, JSON documents and unusual layouts: read the header from the JSON.
		h = header{}
		if err := json.Unmarshal(raw, &h); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return decodedDocument{err: fail(0, "", "expected a Kubernetes object (a mapping with apiVersion and kind), found %s", describeJSON(raw))}
		}
	}
	var out decodedDocument
	decodeOne := func(item int, h header, raw []byte, where string) bool {
		return r.decodeOne(&out, file, d, fail, item, h, raw, where)
	}
	if strings.HasSuffix(h.Kind, "List") && (h.Items != nil || h.Metadata.Name == "") {
		var items []json.RawMessage
		if err := json.Unmarshal(h.Items, &items); err != nil || items == nil {
			if err != nil && h.Items != nil {
				out.err = fail(0, "", "field items: expected a list of objects, found %s", describeJSON(h.Items))
				return out
			}
			r.opts.Logger.Warn(fail(0, "", "a %s with no items (items missing or null): it adds no object to the plan", h.Kind).Error())
			return out
		}
		for i, item := range items {
			if err := ctx.Err(); err != nil {
				return decodedDocument{err: err}
			}
			var ih header
			if err := json.Unmarshal(item, &ih); err != nil {
				out.err = fail(i+1, "", "expected a Kubernetes object, found %s", describeJSON(item))
				return out
			}
			if !decodeOne(i+1, ih, item, fmt.Sprintf("%s (document %d, item %d)", file, d.index, i+1)) {
				return out
			}
		}
		return out
	}
	decodeOne(0, h, raw, fmt.Sprintf("%s (document %d)", file, d.index))
	return out
}

// decodeOne decodes one object of the document (item > 0: of its List's
// items) into out; false when it fails, with out.err set.
func (r *reader) decodeOne(out *decodedDocument, file string, d document, fail func(item int, obj, format string, args ...any) error, item int, h header, raw []byte, where string) bool {
	obj, warning, err := r.decodeObject(&h, raw)
	failHere := func(format string, args ...any) error { return fail(item, h.describe(), format, args...) }
	if err != nil {
		out.err = failHere("%v", err)
		var invalid *invalidError
		if errors.As(err, &invalid) {
			out.err.(*Error).Line = d.startLine + fieldLine(d.data, item, invalid.path) - 1
		}
		return false
	}
	if warning != "" {
		out.warnings = append(out.warnings, failHere("%s", warning))
	}
	out.objects = append(out.objects, decodedObject{h: h, obj: obj, where: where, src: state.Source{File: file, Line: d.startLine}, fail: failHere})
	return true
}

// largeDocument is the size from which a document is read with care for
// memory: its buffer is sized once, and a List's items are decoded with more
// frequent garbage collections.
const largeDocument = 16 << 20

// decodeListItems reads a List item by item (see listItems); ok is false
// when the document is not a List the split can read, or a part of it does
// not convert, which the full parse then reports with its lines.
func (r *reader) decodeListItems(ctx context.Context, file string, d document, fail func(item int, obj, format string, args ...any) error) (out decodedDocument, ok bool) {
	// Finding the items makes garbage in proportion to the document too.
	if len(d.data) > largeDocument {
		defer gctune.WhileLarge()()
	}
	items, ok := listItems(ctx, d.data)
	if err := ctx.Err(); err != nil {
		return decodedDocument{err: err}, true
	}
	if !ok {
		return out, false
	}
	if _, err := yaml.YAMLToJSONStrict(shell(d.data, items)); err != nil {
		return out, false
	}
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return decodedDocument{err: err}, true
		}
		text := it.text(d.data)
		raw, err := yaml.YAMLToJSONStrict(text)
		if err != nil {
			return decodedDocument{}, false
		}
		h, plain := peekHeader(text)
		if !plain {
			h = header{}
			if err := json.Unmarshal(raw, &h); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
				return decodedDocument{}, false
			}
		}
		if !r.decodeOne(&out, file, d, fail, i+1, h, raw, fmt.Sprintf("%s (document %d, item %d)", file, d.index, i+1)) {
			return out, true
		}
	}
	return out, true
}

var duplicateKeyRE = regexp.MustCompile(`line (\d+): mapping key "(.*)" already defined at line (\d+)`)

// duplicateKey finds a key written twice in one mapping of a YAML document, with
// the lines (in the document) of both; yaml.v3 refuses duplicate keys and names both.
func duplicateKey(doc []byte) (key string, line, first int, ok bool) {
	var v any
	err := yamlv3.Unmarshal(doc, &v)
	if err == nil {
		return "", 0, 0, false
	}
	m := duplicateKeyRE.FindStringSubmatch(err.Error())
	if m == nil {
		return "", 0, 0, false
	}
	line, _ = strconv.Atoi(m[1])
	first, _ = strconv.Atoi(m[3])
	return m[2], line, first, true
}

func describeJSON(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "null" || s == "":
		return "an empty document"
	case strings.HasPrefix(s, "["):
		return "a list"
	case strings.HasPrefix(s, "{"):
		return "a mapping"
	default:
		return "a scalar value"
	}
}

// peekHeader reads apiVersion and kind from a document's top-level YAML lines, so
// that most documents are parsed once; ok is false for Lists and anything unusual.
func peekHeader(doc []byte) (h header, ok bool) {
	for len(doc) > 0 {
		line := doc
		if i := bytes.IndexByte(doc, '\n'); i >= 0 {
			line, doc = doc[:i], doc[i+1:]
		} else {
			doc = nil
		}
		switch {
		case bytes.HasPrefix(line, []byte("apiVersion: ")):
			h.APIVersion = string(bytes.TrimSpace(line[len("apiVersion: "):]))
		case bytes.HasPrefix(line, []byte("kind: ")):
			h.Kind = string(bytes.TrimSpace(line[len("kind: "):]))
		}
	}
	plain := func(s string) bool { return s != "" && !strings.ContainsAny(s, "\"'#{}[]&*!|>%@`") }
	return h, plain(h.APIVersion) && plain(h.Kind) && !strings.HasSuffix(h.Kind, "List")
}

// keep adds a decoded object to the state, unless it was already read.
func (r *reader) keep(o decodedObject) error {
	if where, dup := r.seen[o.h.key()]; dup {
		return o.fail("the same object was already read from %s; pass each object once", where)
	}
	r.seen[o.h.key()] = o.where
	if o.obj == nil {
		return nil
	}
	if err := r.st.Add(o.obj); err != nil {
		return o.fail("%v", err)
	}
	if o.src.File == stdinName {
		return nil
	}
	if r.st.Sources == nil {
		r.st.Sources = map[state.ObjectKey]state.Source{}
	}
	r.st.Sources[state.ObjectKey{Kind: o.h.Kind, Namespace: o.h.Metadata.Namespace, Name: o.h.Metadata.Name}] = o.src
	return nil
}

// decodeObject checks an object's identity and decodes it (nil for a kind planning
// does not use, with a warning when it may be one planning was meant to read).
// A header peeked from the YAML gets its name and namespace here.
func (r *reader) decodeObject(h *header, raw []byte) (obj runtime.Object, warning string, err error) {
	if h.APIVersion == "" || h.Kind == "" {
		return nil, "", errors.New("field apiVersion and kind: every object needs both; is this a Kubernetes manifest?")
	}
	obj, err = r.decode(*h, raw)
	switch {
	case obj != nil:
		if m, merr := meta.Accessor(obj); merr == nil {
			h.Metadata.Name, h.Metadata.Namespace = m.GetName(), m.GetNamespace()
		}
	case err == nil && h.Metadata.Name == "":
		// A kind planning skips: its name only matters for duplicates.
		var full header
		_ = json.Unmarshal(raw, &full)
		h.Metadata = full.Metadata
	}
	switch {
	case err != nil:
		return nil, "", err
	case h.Metadata.Name == "":
		return nil, "", errors.New("field metadata.name: missing")
	case obj == nil:
		return nil, unknownKind(h.gvk()), nil
	}
	if cp, ok := obj.(*unstructured.Unstructured); ok && state.IsControlPlaneKind(cp.GroupVersionKind().Group, h.Kind) {
		if err := checkContractVersion(cp); err != nil {
			return nil, "", err
		}
	}
	if err := checkObject(obj, h.Kind, h.Metadata.Namespace); err != nil {
		return nil, "", err
	}
	return obj, "", validate(h.gvk(), raw, obj)
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
	{Group: clusterv1.GroupVersion.Group, Kind: "MachineHealthCheck"}: func() (runtime.Object, map[string]runtime.Object) {
		return &clusterv1.MachineHealthCheck{}, map[string]runtime.Object{"v1beta1": &clusterv1beta1.MachineHealthCheck{}}
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

// rbacKinds are the RBAC kinds read for the nodes/proxy exposure check (Roles
// and RoleBindings never grant a cluster-scoped resource such as nodes).
var rbacKinds = map[string]func() runtime.Object{
	"ClusterRole":        func() runtime.Object { return &rbacv1.ClusterRole{} },
	"ClusterRoleBinding": func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
}

// decode returns the object to keep, or nil for a kind planning does not use.
func (r *reader) decode(h header, raw []byte) (runtime.Object, error) {
	gvk := h.gvk()
	if newKind, ok := hubKinds[gvk.GroupKind()]; ok {
		hub, spokes := newKind()
		spokes["v1beta2"] = hub
		return hub, r.decodeVersioned(gvk, raw, hub, spokes)
	}
	switch {
	case gvk.GroupKind() == state.ManagementClusterGroupVersionKind.GroupKind():
		return decodeManagementCluster(gvk, raw)
	case gvk.Group == "" && gvk.Kind == "Namespace":
		ns := &corev1.Namespace{}
		return ns, decodeInto(raw, ns)
	case gvk.Group == rbacv1.GroupName && rbacKinds[gvk.Kind] != nil:
		o := rbacKinds[gvk.Kind]()
		return o, decodeInto(raw, o)
	case gvk.Group == "apps" && gvk.Kind == "Deployment":
		d := &appsv1.Deployment{}
		if err := decodeInto(raw, d); err != nil {
			return nil, err
		}
		if _, ok := d.Labels[state.ProviderLabel]; !ok {
			break // not a CAPI controller
		}
		return d, nil
	case gvk.Group == "apiextensions.k8s.io" && gvk.Kind == "CustomResourceDefinition":
		m := &metav1.PartialObjectMetadata{}
		if err := decodeInto(raw, m); err != nil {
			return nil, err
		}
		m.SetGroupVersionKind(gvk)
		if !state.IsCRDOfCAPIProvider(m) {
			break // another API's CRD
		}
		return state.CRDView(m), nil
	case state.IsControlPlaneKind(gvk.Group, gvk.Kind), state.IsTemplateKind(gvk.Group, gvk.Kind),
		gvk.Group == state.ClusterctlGroup && gvk.Kind == "Provider":
		u := &unstructured.Unstructured{}
		return u, decodeInto(raw, &u.Object)
	}
	r.opts.Logger.Debug("skipping a kind capi-planner does not plan with", "apiVersion", h.APIVersion, "kind", gvk.Kind, "name", h.Metadata.Name)
	return nil, nil
}

// decodeManagementCluster reads the record of the management cluster that
// `capi-planner snapshot` writes, strictly: its one version, no unknown or
// duplicate field (names are case-sensitive), no namespace, and a Kubernetes
// version as the API server reports it.
func decodeManagementCluster(gvk schema.GroupVersionKind, raw []byte) (runtime.Object, error) {
	want := state.ManagementClusterGroupVersionKind
	if gvk.Version != want.Version {
		return nil, fmt.Errorf("field apiVersion: %s is not supported for %s; expected %s", gvk.GroupVersion(), gvk.Kind, want.GroupVersion())
	}
	// m is returned with every error found after decoding, for its name.
	m := &state.ManagementCluster{}
	strict, err := kjson.UnmarshalStrict(raw, m, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return m, &invalidError{path: te.Field, msg: fmt.Sprintf("field %s: expected %s, got %s", te.Field, jsonTypeName(te.Type.String()), te.Value)}
		}
		return m, fmt.Errorf("cannot decode: %v", err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return m, fmt.Errorf("%s; a %s has metadata.name and kubernetesVersion only (field names are case-sensitive)", strings.Join(msgs, "; "), want.Kind)
	}
	if m.Namespace != "" {
		return m, &invalidError{path: "metadata.namespace", msg: fmt.Sprintf("field metadata.namespace: a %s is not namespaced: remove it", want.Kind)}
	}
	if err := state.CheckKubernetesVersion(m.KubernetesVersion); err != nil {
		return m, &invalidError{path: "kubernetesVersion", msg: "field kubernetesVersion: " + err.Error()}
	}
	m.SetGroupVersionKind(gvk)
	return m, nil
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

// decodeVersioned decodes raw into the Go type registered for its apiVersion in
// byVersion and converts it into target (the v1beta2 hub) with CAPI's own
// conversion webhook code.
func (r *reader) decodeVersioned(gvk schema.GroupVersionKind, raw []byte, target runtime.Object, byVersion map[string]runtime.Object) error {
	into, ok := byVersion[gvk.Version]
	if !ok {
		versions := make([]string, 0, len(byVersion))
		for v := range byVersion {
			versions = append(versions, gvk.Group+"/"+v)
		}
		sort.Strings(versions)
		return fmt.Errorf("field apiVersion: %s is not supported for %s; expected one of %s (re-export it with kubectl get, which returns a served version)",
			gvk.GroupVersion(), gvk.Kind, strings.Join(versions, ", "))
	}
	if err := decodeInto(raw, into); err != nil {
		return err
	}
	if into == target {
		return nil
	}
	if err := r.conv.Convert(context.Background(), into, target); err != nil {
		return fmt.Errorf("converting %s to %s: %w", gvk.GroupVersion(), gvk.Group+"/v1beta2", err)
	}
	return nil
}

// decodeInto decodes an object with encoding/json so that type errors name the field.
func decodeInto(raw []byte, into any) error {
	if err := json.Unmarshal(raw, into); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &invalidError{path: te.Field, msg: fmt.Sprintf("field %s: expected %s, got %s", te.Field, jsonTypeName(te.Type.String()), te.Value)}
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
