// Package extregistry finds the runtime extension handlers that CAPI would call,
// with the naming and rules of CAPI's runtime registry (internal/runtime/registry
// and internal/runtime/client, which cannot be imported):
//
//   - A handler is known by its registered name, exactly as the core controller's
//     discovery writes it into ExtensionConfig status.handlers[].name:
//     "<handler>.<ExtensionConfig name>" (client.go NameForHandler). ClusterClass
//     fields such as spec.upgrade.external.generateUpgradePlanExtension name it so.
//   - The URL path of a call uses the name without that suffix (client.go:432).
//   - Only ExtensionConfigs that are discovered for their current generation and
//     not paused are registered; a namespaceSelector limits the objects a handler
//     is called for (client.go:232-267).
package extregistry

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"

	"github.com/capi-planner/capi-planner/state"
)

// Handler is one handler registered by an ExtensionConfig.
type Handler struct {
	// Name is the registered name, "<handler>.<ExtensionConfig name>".
	Name string
	// Config is the ExtensionConfig that registers it.
	Config *runtimev1.ExtensionConfig
	// Status is its entry in the ExtensionConfig's status.handlers.
	Status runtimev1.ExtensionHandler
}

// PathName is the handler's name in the URL path CAPI calls: the registered name
// without the ".<ExtensionConfig name>" suffix.
func (h Handler) PathName() string {
	return strings.TrimSuffix(h.Name, "."+h.Config.Name)
}

// Unusable is an ExtensionConfig whose handlers CAPI does not register or call.
type Unusable struct {
	Config *runtimev1.ExtensionConfig
	// Why says why, as a clause: "it is paused (...)".
	Why string
}

// NamespaceUnknown is an ExtensionConfig with a namespaceSelector that could not be
// checked because the Namespace's labels were not read; it is assumed to match.
type NamespaceUnknown struct {
	Config    *runtimev1.ExtensionConfig
	Namespace string
}

// Selection is what the registry offers for objects of one namespace.
type Selection struct {
	// Handlers of lifecycle and in-place hooks (API version
	// hooks.runtime.cluster.x-k8s.io/v1alpha1), by hook name, sorted by name.
	Handlers map[string][]Handler
	// Unusable ExtensionConfigs, and invalid namespaceSelectors (Why says so).
	Unusable []Unusable
	// Unknown lists selectors assumed to match because the Namespace was not read.
	Unknown []NamespaceUnknown
}

// Names returns the registered names of the handlers of a hook.
func (s Selection) Names(hook string) []string {
	var out []string
	for _, h := range s.Handlers[hook] {
		out = append(out, h.Name)
	}
	return out
}

// Selects reports whether the ExtensionConfig may serve objects of namespace:
// its namespaceSelector matches, or cannot be checked (the Namespace was not
// read, or the selector is invalid) and is assumed to.
func Selects(st *state.State, ec *runtimev1.ExtensionConfig, namespace string) bool {
	match, known, err := namespaceMatches(st, ec.Spec.NamespaceSelector, namespace)
	return match || !known || err != nil
}

// ForNamespace returns the handlers CAPI would call for an object in namespace.
func ForNamespace(st *state.State, namespace string) Selection {
	sel := Selection{Handlers: map[string][]Handler{}}
	for _, ec := range st.ExtensionConfigs {
		if len(ec.Status.Handlers) == 0 {
			continue
		}
		if why := NotUsable(ec); why != "" {
			sel.Unusable = append(sel.Unusable, Unusable{Config: ec, Why: why})
			continue
		}
		match, known, err := namespaceMatches(st, ec.Spec.NamespaceSelector, namespace)
		if err != nil {
			sel.Unusable = append(sel.Unusable, Unusable{Config: ec, Why: fmt.Sprintf("its spec.namespaceSelector is invalid (%v)", err)})
			continue
		}
		if !known {
			sel.Unknown = append(sel.Unknown, NamespaceUnknown{Config: ec, Namespace: namespace})
		}
		if !match {
			continue
		}
		for _, h := range ec.Status.Handlers {
			if h.RequestHook.APIVersion != runtimehooksv1.GroupVersion.String() {
				continue
			}
			sel.Handlers[h.RequestHook.Hook] = append(sel.Handlers[h.RequestHook.Hook], Handler{Name: h.Name, Config: ec, Status: h})
		}
	}
	for _, hs := range sel.Handlers {
		sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
	}
	return sel
}

// Lookup returns the handler registered under name, as CAPI's runtime client finds
// it before a call: in a usable ExtensionConfig, for an object in namespace.
func Lookup(st *state.State, name, namespace string) (Handler, error) {
	for _, ec := range st.ExtensionConfigs {
		for _, h := range ec.Status.Handlers {
			if h.Name != name {
				continue
			}
			if why := NotUsable(ec); why != "" {
				return Handler{}, fmt.Errorf("extension handler %q is not registered: ExtensionConfig %s lists it, but %s", name, ec.Name, why)
			}
			match, _, err := namespaceMatches(st, ec.Spec.NamespaceSelector, namespace)
			if err != nil || !match {
				return Handler{}, fmt.Errorf("extension handler %q (ExtensionConfig %s): its namespaceSelector does not select namespace %s (%v)", name, ec.Name, namespace, err)
			}
			return Handler{Name: name, Config: ec, Status: h}, nil
		}
	}
	return Handler{}, fmt.Errorf("extension handler %q is not registered: no ExtensionConfig lists it in status.handlers, where CAPI's discovery writes each handler as <handler>.<ExtensionConfig name> (is the extension discovered?)", name)
}

// NotUsable says why CAPI registers none of an ExtensionConfig's handlers, or "".
func NotUsable(ec *runtimev1.ExtensionConfig) string {
	if annotations.HasPaused(ec) {
		return "it is paused (annotation " + clusterv1.PausedAnnotation + ")"
	}
	c := meta.FindStatusCondition(ec.Status.Conditions, runtimev1.ExtensionConfigDiscoveredCondition)
	switch {
	case c == nil:
		return "it has no Discovered condition (discovery has not run)"
	case c.Status != metav1.ConditionTrue:
		return fmt.Sprintf("its Discovered condition is %s (%s)", c.Status, strings.TrimSpace(c.Message))
	case c.ObservedGeneration != 0 && c.ObservedGeneration != ec.Generation:
		return fmt.Sprintf("its Discovered condition is for generation %d, not the current %d", c.ObservedGeneration, ec.Generation)
	}
	return ""
}

// namespaceMatches reports whether selector matches the namespace, and whether
// the namespace's labels were known (an empty selector matches everything).
func namespaceMatches(st *state.State, selector *metav1.LabelSelector, namespace string) (match, known bool, err error) {
	if selector == nil || (len(selector.MatchLabels) == 0 && len(selector.MatchExpressions) == 0) {
		return true, true, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return false, false, err
	}
	ns := st.Namespace(namespace)
	if ns == nil {
		return true, false, nil
	}
	return sel.Matches(labels.Set(ns.Labels)), true, nil
}
