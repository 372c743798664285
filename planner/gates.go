package planner

import (
	"github.com/capi-planner/capi-planner/state"
)

// gates are the feature gates of the running controllers that in-place updates need.
type gates struct {
	source               string
	coreKnown, kcpKnown  bool
	coreInPlace, coreSDK bool
	// corePreflight is MachineSetPreflightChecks (beta, on by default).
	corePreflight bool
	kcpInPlace    bool
}

// readGates reads InPlaceUpdates and RuntimeSDK from the core and KubeadmControlPlane
// controllers' --feature-gates (both alpha, off by default), or takes the override.
func readGates(st *state.State, override map[string]bool) gates {
	if override != nil {
		return gates{source: "--feature-gates", coreKnown: true, kcpKnown: true,
			coreInPlace: override["InPlaceUpdates"], coreSDK: override["RuntimeSDK"], kcpInPlace: override["InPlaceUpdates"],
			corePreflight: gateOr(override, gatePreflight, true)}
	}
	g := gates{source: "the controllers' --feature-gates"}
	for _, c := range st.ControllerInfo() {
		if c.FeatureGatesArg != "" {
			continue // unparsable: unknown
		}
		switch c.Provider {
		case "cluster-api":
			g.coreKnown, g.coreInPlace, g.coreSDK = true, c.FeatureGates["InPlaceUpdates"], c.FeatureGates["RuntimeSDK"]
			g.corePreflight = gateOr(c.FeatureGates, gatePreflight, true)
		case "control-plane-kubeadm":
			g.kcpKnown, g.kcpInPlace = true, c.FeatureGates["InPlaceUpdates"]
		}
	}
	return g
}
