package planner

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

	"github.com/capi-planner/capi-planner/internal/state"
)

// Lifecycle hook names, as ExtensionConfig status.handlers[].requestHook.hook spells them.
const (
	hookBeforeClusterUpgrade      = "BeforeClusterUpgrade"
	hookBeforeControlPlaneUpgrade = "BeforeControlPlaneUpgrade"
	hookAfterControlPlaneUpgrade  = "AfterControlPlaneUpgrade"
	hookBeforeWorkersUpgrade      = "BeforeWorkersUpgrade"
	hookAfterWorkersUpgrade       = "AfterWorkersUpgrade"
	hookAfterClusterUpgrade       = "AfterClusterUpgrade"
)

// hookRegistry maps a hook name to the handlers that CAPI would call for one Cluster.
type hookRegistry map[string][]string

// hooks returns the hooks at one point of the upgrade that have handlers, in call order.
func (r hookRegistry) hooks(names ...string) []Hook {
	var out []Hook
	for _, n := range names {
		if h := r[n]; len(h) > 0 {
			out = append(out, Hook{Name: n, Handlers: h})
		}
	}
	return out
}

// registeredHooks returns the handlers registered for the Cluster's namespace, the way
// CAPI's runtime registry selects them: discovered for the current generation, not
// paused, namespaceSelector matching (internal/runtime/client/client.go:232-267).
// The registered name of a handler is <handler name>.<ExtensionConfig name>.
func registeredHooks(st *state.State, cluster *clusterv1.Cluster) (hookRegistry, []Finding) {
	reg := hookRegistry{}
	var findings []Finding
	for _, ec := range st.ExtensionConfigs {
		ref := &ObjectRef{Kind: "ExtensionConfig", Name: ec.Name}
		if len(ec.Status.Handlers) == 0 {
			continue
		}
		if why := notUsable(ec); why != "" {
			findings = append(findings, Finding{Rule: RuleExtensionNotUsable, Objects: []ObjectRef{*ref},
				Message: fmt.Sprintf("ExtensionConfig %s registers handlers but %s, so CAPI calls none of them", ec.Name, why)})
			continue
		}
		match, known, err := namespaceMatches(st, ec.Spec.NamespaceSelector, cluster.Namespace)
		if err != nil {
			findings = append(findings, Finding{Rule: RuleExtensionNotUsable, Objects: []ObjectRef{*ref},
				Message: fmt.Sprintf("ExtensionConfig %s spec.namespaceSelector is invalid (%v), so CAPI calls none of its handlers", ec.Name, err)})
			continue
		}
		if !known {
			findings = append(findings, Finding{Rule: RuleNamespaceUnknown, Objects: []ObjectRef{*ref},
				Message: fmt.Sprintf("ExtensionConfig %s has a namespaceSelector but the snapshot holds no Namespace %s to match it against; assuming it matches (include the Namespace object to be sure)", ec.Name, cluster.Namespace)})
		}
		if !match {
			continue
		}
		for _, h := range ec.Status.Handlers {
			if h.RequestHook.APIVersion != runtimehooksv1.GroupVersion.String() {
				continue
			}
			reg[h.RequestHook.Hook] = append(reg[h.RequestHook.Hook], h.Name+"."+ec.Name)
		}
	}
	for _, h := range reg {
		sort.Strings(h)
	}
	return reg, findings
}

// notUsable says why CAPI ignores an ExtensionConfig's handlers, or "".
func notUsable(ec *runtimev1.ExtensionConfig) string {
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
