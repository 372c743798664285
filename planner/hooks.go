package planner

import (
	"fmt"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/extregistry"
	"github.com/capi-planner/capi-planner/state"
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

// registeredHooks returns the handlers CAPI would call for the Cluster, by their
// registered names (see internal/extregistry), with findings for ExtensionConfigs
// whose handlers CAPI would not call.
func registeredHooks(st *state.State, cluster *clusterv1.Cluster) (hookRegistry, []Finding) {
	sel := extregistry.ForNamespace(st, cluster.Namespace)
	reg := hookRegistry{}
	for hook := range sel.Handlers {
		reg[hook] = sel.Names(hook)
	}
	var findings []Finding
	for _, u := range sel.Unusable {
		findings = append(findings, Finding{Rule: RuleExtensionNotUsable, Objects: []ObjectRef{{Kind: "ExtensionConfig", Name: u.Config.Name}},
			Message: fmt.Sprintf("ExtensionConfig %s registers handlers but %s, so CAPI calls none of them", u.Config.Name, u.Why)})
	}
	for _, u := range sel.Unknown {
		findings = append(findings, Finding{Rule: RuleNamespaceUnknown, Objects: []ObjectRef{{Kind: "ExtensionConfig", Name: u.Config.Name}},
			Message: fmt.Sprintf("ExtensionConfig %s has a namespaceSelector but the snapshot holds no Namespace %s to match it against; assuming it matches (include the Namespace object to be sure)", u.Config.Name, u.Namespace)})
	}
	return reg, findings
}
