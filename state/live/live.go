// Package live reads a management cluster's state through its API server: each
// kind is listed once per run (in one namespace or cluster-wide), page by page,
// never one request per Cluster or Machine.
package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	kjson "sigs.k8s.io/json"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/state"
)

// DefaultPageSize is the number of objects asked for per list request, as kubectl's --chunk-size.
const DefaultPageSize = 500

// Options configure a live read.
type Options struct {
	// Namespace restricts namespaced kinds to one namespace; "" reads every namespace.
	Namespace string
	// ClusterSelector filters Clusters by label (-l); nil selects all.
	ClusterSelector labels.Selector
	// PageSize is the limit of each list request (DefaultPageSize when 0).
	PageSize int64
	Logger   *slog.Logger
}

// Warning is a kind that could not be read: the permission that is missing and
// what the plan loses without it.
type Warning struct {
	// Kind is the kind that could not be read.
	Kind      string
	Verb      string
	Resource  string
	Namespace string
	Impact    string
}

func (w Warning) String() string {
	where := "cluster-wide"
	if w.Namespace != "" {
		where = "in namespace " + w.Namespace
	}
	return fmt.Sprintf("forbidden to %s %s %s: %s (grant it with the ClusterRole in config/rbac/)", w.Verb, w.Resource, where, w.Impact)
}

// Result is what a live read returns.
type Result struct {
	State    *state.State
	Warnings []Warning
}

// kind is one kind to list.
type kind struct {
	gvk        schema.GroupVersionKind
	namespaced bool
	newList    func() ctrlclient.ObjectList
	// selector restricts the list (Clusters by -l, Deployments by provider label).
	selector labels.Selector
	impact   string
}

// Read lists every kind planning reads.
func Read(ctx context.Context, cfg *rest.Config, opts Options) (*Result, error) {
	if opts.PageSize == 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot build a client for %s: %w", cfg.Host, err)
	}
	groups, err := restmapper.GetAPIGroupResources(disc)
	if err != nil && len(groups) == 0 {
		return nil, unreachable(cfg, err)
	}
	mgmt, err := managementCluster(ctx, disc, opts.Logger)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	raw := rest.CopyConfig(cfg)
	raw.GroupVersion, raw.APIPath = nil, ""
	raw.NegotiatedSerializer = serializer.NewCodecFactory(scheme.New()).WithoutConversion()
	if raw.UserAgent == "" {
		raw.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	client, err := rest.UnversionedRESTClientFor(raw)
	if err != nil {
		return nil, fmt.Errorf("cannot build a client for %s: %w", cfg.Host, err)
	}
	r := &reader{client: client, mapper: mapper, opts: opts}
	served := servedKinds(groups)
	var kinds []kind
	for _, k := range r.kinds(served) {
		if !served[k.gvk] {
			opts.Logger.Debug("kind not served by this management cluster; skipping", "kind", k.gvk.String())
			continue
		}
		kinds = append(kinds, k)
	}
	// Kinds are listed a few at a time, so that the API server encodes one list
	// while capi-planner decodes another; each kind is still listed once.
	results := make([]listed, len(kinds))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ConcurrentLists)
	for i, k := range kinds {
		g.Go(func() error {
			var err error
			results[i], err = r.list(gctx, k)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res := &Result{State: &state.State{Management: mgmt}}
	for i, l := range results {
		if l.warning != nil {
			res.Warnings = append(res.Warnings, *l.warning)
		}
		for _, obj := range l.objects {
			if err := add(res.State, kinds[i].gvk, obj); err != nil {
				return nil, err
			}
		}
	}
	res.State.Sort()
	return res, nil
}

// managementCluster reads the management cluster's own Kubernetes version: the
// gitVersion of the API server's /version. It is the request of the discovery
// client's ServerVersion, made here with ctx, which ServerVersion does not take
// (it uses context.TODO). Forbidden (every user may read /version by default,
// through system:public-info-viewer), or not a Kubernetes version, it is
// logged and left unknown (nil): the checks that need it are skipped.
func managementCluster(ctx context.Context, disc *discovery.DiscoveryClient, logger *slog.Logger) (*state.ManagementCluster, error) {
	body, err := disc.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	switch {
	case apierrors.IsForbidden(err):
		logger.Warn("forbidden to get /version (the management cluster's Kubernetes version): the plan does not check it against CAPI's support matrix (grant it with the ClusterRole in config/rbac/)")
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the management cluster's Kubernetes version (GET /version): %w", err)
	}
	var info version.Info
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("reading the management cluster's Kubernetes version (GET /version): unable to parse the server version: %w", err)
	}
	if err := state.CheckKubernetesVersion(info.GitVersion); err != nil {
		logger.Warn(fmt.Sprintf("the management cluster's Kubernetes version (gitVersion of /version): %v; the plan does not check it against CAPI's support matrix", err))
		return nil, nil
	}
	return state.NewManagementCluster(info.GitVersion), nil
}

// ConcurrentLists is how many kinds are listed at once.
const ConcurrentLists = 3

// listed is the outcome of listing one kind.
type listed struct {
	objects []runtime.Object
	warning *Warning
}

// UnauthorizedError is an API server that refused the credentials (401).
type UnauthorizedError struct {
	Host string
}

func (e *UnauthorizedError) Error() string {
	return fmt.Sprintf("the management cluster at %s rejected the credentials (401 Unauthorized)", e.Host)
}

func unreachable(cfg *rest.Config, err error) error {
	switch {
	case apierrors.IsUnauthorized(err):
		return &UnauthorizedError{Host: cfg.Host}
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the management cluster at %s forbids reading its API discovery (get /api, /apis): bind the ClusterRole in config/rbac/", cfg.Host)
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error()
	}
	return &unreachableError{msg: fmt.Sprintf("cannot reach the management cluster at %s: %s; check --kubeconfig, --context and that the API server is reachable", cfg.Host, strings.TrimSpace(msg)), err: err}
}

// unreachableError explains a failed discovery and keeps the error behind it,
// so that a caller can tell a transient failure (apply retries those).
type unreachableError struct {
	msg string
	err error
}

func (e *unreachableError) Error() string { return e.msg }
func (e *unreachableError) Unwrap() error { return e.err }

// servedKinds returns the preferred version of every kind the server serves.
func servedKinds(groups []*restmapper.APIGroupResources) map[schema.GroupVersionKind]bool {
	out := map[schema.GroupVersionKind]bool{}
	for _, g := range groups {
		for version, resources := range g.VersionedResources {
			for _, res := range resources {
				if !strings.Contains(res.Name, "/") {
					out[schema.GroupVersionKind{Group: g.Group.Name, Version: version, Kind: res.Kind}] = true
				}
			}
		}
	}
	return out
}

func (r *reader) kinds(served map[schema.GroupVersionKind]bool) []kind {
	core := clusterv1.GroupVersion
	providers := labels.NewSelector()
	if req, err := labels.NewRequirement(state.ProviderLabel, selection.Exists, nil); err == nil {
		providers = providers.Add(*req)
	}
	ks := []kind{
		{gvk: core.WithKind("Cluster"), namespaced: true, selector: r.opts.ClusterSelector, impact: "no Cluster can be planned",
			newList: func() ctrlclient.ObjectList { return &clusterv1.ClusterList{} }},
		{gvk: core.WithKind("ClusterClass"), namespaced: true, impact: "topology Clusters cannot be planned (their version source is unknown)",
			newList: func() ctrlclient.ObjectList { return &clusterv1.ClusterClassList{} }},
		{gvk: core.WithKind("MachineDeployment"), namespaced: true, impact: "MachineDeployments are missing from the worker steps",
			newList: func() ctrlclient.ObjectList { return &clusterv1.MachineDeploymentList{} }},
		{gvk: core.WithKind("MachineSet"), namespaced: true, impact: "MachineSets are missing from the snapshot",
			newList: func() ctrlclient.ObjectList { return &clusterv1.MachineSetList{} }},
		{gvk: core.WithKind("MachinePool"), namespaced: true, impact: "MachinePools are missing from the worker steps",
			newList: func() ctrlclient.ObjectList { return &clusterv1.MachinePoolList{} }},
		{gvk: core.WithKind("Machine"), namespaced: true, impact: "rollouts still under way cannot be detected",
			newList: func() ctrlclient.ObjectList { return &clusterv1.MachineList{} }},
		{gvk: core.WithKind("MachineHealthCheck"), namespaced: true, impact: "remediations under way are not reported",
			newList: func() ctrlclient.ObjectList { return &clusterv1.MachineHealthCheckList{} }},
		{gvk: runtimev1.GroupVersion.WithKind("ExtensionConfig"), impact: "lifecycle hooks are not shown and upgrade-plan extensions cannot be called",
			newList: func() ctrlclient.ObjectList { return &runtimev1.ExtensionConfigList{} }},
		{gvk: corev1.SchemeGroupVersion.WithKind("Namespace"), impact: "ExtensionConfig namespaceSelectors cannot be checked",
			newList: func() ctrlclient.ObjectList { return &corev1.NamespaceList{} }},
		// Metadata only: the contract labels the patch engine reads (name and labels are kept).
		{gvk: apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"), impact: "ClusterClass patches of Clusters whose control plane is not a KubeadmControlPlane cannot be evaluated (its contract version is unknown)",
			newList: func() ctrlclient.ObjectList {
				l := &metav1.PartialObjectMetadataList{}
				l.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinitionList"))
				return l
			}},
		// Controllers live in their own namespaces: listed cluster-wide, by the provider label.
		{gvk: appsv1.SchemeGroupVersion.WithKind("Deployment"), selector: providers, impact: "the controllers' feature gates and versions are unknown",
			newList: func() ctrlclient.ObjectList { return &appsv1.DeploymentList{} }},
	}
	// ClusterRoles and ClusterRoleBindings, for the nodes/proxy exposure check.
	// Roles and RoleBindings are not read: RBAC consults RoleBindings only for
	// namespaced requests, and nodes are cluster-scoped.
	const rbacImpact = "who may reach the kubelets' nodes/proxy is not checked"
	rbacGV := rbacv1.SchemeGroupVersion
	ks = append(ks,
		kind{gvk: rbacGV.WithKind("ClusterRole"), impact: rbacImpact, newList: func() ctrlclient.ObjectList { return &rbacv1.ClusterRoleList{} }},
		kind{gvk: rbacGV.WithKind("ClusterRoleBinding"), impact: rbacImpact, newList: func() ctrlclient.ObjectList { return &rbacv1.ClusterRoleBindingList{} }},
	)
	// Other providers' kinds, read unstructured in the version the server prefers.
	for gvk := range served {
		var impact string
		namespaced := true
		switch {
		case state.IsControlPlaneKind(gvk.Group, gvk.Kind) && !strings.HasSuffix(gvk.Kind, "List"):
			impact = "Clusters with a " + gvk.Kind + " cannot be planned"
		case state.IsTemplateKind(gvk.Group, gvk.Kind):
			impact = gvk.Kind + " objects are missing from the snapshot"
		case gvk.Group == state.ClusterctlGroup && gvk.Kind == "Provider":
			impact = "clusterctl provider versions are unknown"
			namespaced = false
		default:
			continue
		}
		if !preferred(served, gvk) {
			continue
		}
		g := gvk
		ks = append(ks, kind{gvk: g, namespaced: namespaced, impact: impact, newList: func() ctrlclient.ObjectList {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(g.GroupVersion().WithKind(g.Kind + "List"))
			return l
		}})
	}
	return ks
}

// preferred keeps one version per kind: v1beta2 when served, else the highest served version.
func preferred(served map[schema.GroupVersionKind]bool, gvk schema.GroupVersionKind) bool {
	for other := range served {
		if other.Group == gvk.Group && other.Kind == gvk.Kind && other.Version != gvk.Version && versionRank(other.Version) > versionRank(gvk.Version) {
			return false
		}
	}
	return true
}

func versionRank(v string) int {
	for i, known := range []string{"v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4", "v1beta1", "v1beta2", "v1"} {
		if v == known {
			return i + 1
		}
	}
	return 0
}

type reader struct {
	client rest.Interface
	mapper meta.RESTMapper
	opts   Options
}

// list reads one kind, page by page. Each page is requested as JSON and
// decoded straight into the kind's list type: the client's generic decoder
// first parses the whole page to learn its kind (json.SimpleMetaFactory),
// which in a profile of the live fleet read was a third of the decoding.
// The next page is requested while this one is decoded: its continue token
// is read from the page's metadata first (nextToken), so that the API server
// encodes a page while capi-planner decodes the one before, instead of each
// waiting for the other, page after page, on the longest list (the Machines).
func (r *reader) list(ctx context.Context, k kind) (listed, error) {
	var out listed
	ns := ""
	if k.namespaced {
		ns = r.opts.Namespace
	}
	mapping, err := r.mapper.RESTMapping(k.gvk.GroupKind(), k.gvk.Version)
	if meta.IsNoMatchError(err) {
		r.opts.Logger.Debug("kind not found; skipping", "kind", k.gvk.String())
		return out, nil
	}
	if err != nil {
		return out, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a page requested ahead is not waited for after an error
	p := pager{r: r, k: k, path: listPath(mapping, ns)}
	body, err := p.get(ctx, "")
	for first := true; ; first = false {
		// Forbidden or gone on the first page, the kind is left out with a
		// warning; on a later page (the RBAC or the CRD changed mid-read),
		// keeping the pages before would plan on half a kind: an error.
		switch {
		case first && apierrors.IsForbidden(err):
			out.warning = &Warning{Kind: k.gvk.Kind, Verb: "list", Resource: mapping.Resource.GroupResource().String(), Namespace: ns, Impact: k.impact}
			return out, nil
		case first && apierrors.IsNotFound(err):
			r.opts.Logger.Debug("kind not found; skipping", "kind", k.gvk.String())
			return out, nil
		case err != nil:
			return out, fmt.Errorf("listing %s: %w", mapping.Resource.GroupResource(), err)
		}
		ahead, aheadToken := p.ahead(ctx, body)
		list := k.newList()
		if err = decodeList(body, list); err != nil {
			return out, fmt.Errorf("listing %s: decoding the response: %w", mapping.Resource.GroupResource(), err)
		}
		var items []runtime.Object
		if items, err = meta.ExtractList(list); err != nil {
			return out, err
		}
		dropManagedFields(items)
		out.objects = append(out.objects, items...)
		cont := list.GetContinue()
		switch {
		case cont == "":
			return out, nil
		case ahead != nil && aheadToken == cont:
			page := <-ahead
			body, err = page.body, page.err
		default:
			body, err = p.get(ctx, cont)
		}
	}
}

// dropManagedFields clears metadata.managedFields of every listed object.
// Nothing in the planner reads them (a snapshot leaves them out too), and
// with one entry per writer they are a large share of what a fleet of
// thousands of Machines keeps in memory.
func dropManagedFields(items []runtime.Object) {
	for _, item := range items {
		if m, err := meta.Accessor(item); err == nil {
			m.SetManagedFields(nil)
		}
	}
}

// metadataOnly reports whether the kind is listed as PartialObjectMetadata.
func (k kind) metadataOnly() bool {
	_, ok := k.newList().(*metav1.PartialObjectMetadataList)
	return ok
}

// pager requests the pages of one kind's list.
type pager struct {
	r    *reader
	k    kind
	path []string
}

type page struct {
	body []byte
	err  error
}

// get requests the page that cont continues to ("" for the first).
func (p pager) get(ctx context.Context, cont string) ([]byte, error) {
	req := p.r.client.Get().AbsPath(p.path...).Param("limit", strconv.FormatInt(p.r.opts.PageSize, 10))
	if cont != "" {
		req.Param("continue", cont)
	}
	if p.k.selector != nil && !p.k.selector.Empty() {
		req.Param("labelSelector", p.k.selector.String())
	}
	if p.k.gvk.Kind == "Namespace" && p.r.opts.Namespace != "" {
		req.Param("fieldSelector", fields.OneTermEqualSelector("metadata.name", p.r.opts.Namespace).String())
	}
	if p.k.metadataOnly() {
		req.SetHeader("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json")
	}
	return req.Do(ctx).Raw()
}

// ahead requests the page after body, if body's metadata names one, and
// returns where its answer will arrive and the token it was requested with.
func (p pager) ahead(ctx context.Context, body []byte) (<-chan page, string) {
	token, ok := nextToken(body)
	if !ok || token == "" {
		return nil, ""
	}
	ch := make(chan page, 1)
	go func() {
		b, err := p.get(ctx, token)
		ch <- page{b, err}
	}()
	return ch, token
}

// nextToken reads the continue token of a JSON list page from its metadata,
// without decoding its items: the API server writes kind, apiVersion and
// metadata before items. ok is false when items come first or the page does
// not parse; the page is then decoded before the next one is requested.
func nextToken(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		t, err := dec.Token()
		key, isKey := t.(string)
		if err != nil || !isKey || key == "items" {
			return "", false
		}
		if key == "metadata" {
			var lm metav1.ListMeta
			if err := dec.Decode(&lm); err != nil {
				return "", false
			}
			return lm.Continue, true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

// listPath is the URL path that lists a resource, in one namespace or all.
func listPath(m *meta.RESTMapping, ns string) []string {
	gvr := m.Resource
	path := []string{"/apis", gvr.Group, gvr.Version}
	if gvr.Group == "" {
		path = []string{"/api", gvr.Version}
	}
	if ns != "" && m.Scope.Name() == meta.RESTScopeNameNamespace {
		path = append(path, "namespaces", ns)
	}
	return append(path, gvr.Resource)
}

// decodeList decodes a page into list as the API machinery's JSON serializer
// does: an unstructured list through its own decoder, a typed one with the
// case-sensitive decoder that keeps integers as int64.
func decodeList(body []byte, list ctrlclient.ObjectList) error {
	if u, ok := list.(*unstructured.UnstructuredList); ok {
		return u.UnmarshalJSON(body)
	}
	return kjson.UnmarshalCaseSensitivePreserveInts(body, list)
}

// add keeps a listed object. Unlike a snapshot's objects, it is not checked
// against its CRD's schema or CAPI's webhooks: it came through the API server,
// which checked it when it was written. Both readers keep objects through
// state.Add, and the planner guards its arithmetic for either.
func add(st *state.State, gvk schema.GroupVersionKind, obj runtime.Object) error {
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok && !state.IsCRDOfCAPIProvider(m) {
		return nil // another API's CRD
	}
	if u, ok := obj.(*unstructured.Unstructured); ok {
		obj = u.DeepCopy()
	}
	if err := st.Add(obj); err != nil {
		m, _ := meta.Accessor(obj)
		return fmt.Errorf("%s %s/%s: %w", gvk.Kind, m.GetNamespace(), m.GetName(), err)
	}
	return nil
}
