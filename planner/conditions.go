package planner

import (
	"strings"

	"github.com/blang/semver/v4"

	"github.com/capi-planner/capi-planner/state"
)

// gatePreflight is the core controller's gate for the MachineSet preflight checks.
const gatePreflight = "MachineSetPreflightChecks"

func gateOr(gates map[string]bool, name string, def bool) bool {
	if v, ok := gates[name]; ok {
		return v
	}
	return def
}

// preflightOn is the precondition of the MachineSet preflight checks: their gate.
func preflightOn(g gates) precondition {
	return precondition{known: g.coreKnown, holds: g.corePreflight, what: "the core controller's " + gatePreflight + " gate is on, as by default"}
}

// precondition is something a finding needs of the installation (a controller's
// version, a feature gate): known when the input shows it, and then whether it holds.
type precondition struct {
	known, holds bool
	what         string
}

// conditional returns the finding if every known precondition holds; when some
// are unknown, the finding says it holds only if they do.
func conditional(f Finding, pres ...precondition) []Finding {
	var unknown []string
	for _, p := range pres {
		switch {
		case !p.known:
			unknown = append(unknown, p.what)
		case !p.holds:
			return nil
		}
	}
	if len(unknown) > 0 {
		f.Condition = "holds only if " + strings.Join(unknown, " and ") + ", which the input does not show: include the controllers' Deployments to check"
	}
	return []Finding{f}
}

// coreVersion is the core controller's version: its Deployment's image tag, else
// clusterctl's CoreProvider version; nil when neither was read or is a version.
func coreVersion(st *state.State) *semver.Version {
	if v, _, ok := coreProvider(st); ok {
		return &v
	}
	return nil
}

// rateFindings gives every finding its rule's severity from the catalogue and
// orders them by it, errors first.
func rateFindings(fs []Finding) {
	for i := range fs {
		if r, ok := ruleIndex[fs[i].Rule]; ok {
			fs[i].Severity = rules[r].Severity
		}
	}
	sortFindings(fs)
}
