package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/capi-planner/capi-planner/internal/state"
	"github.com/capi-planner/capi-planner/internal/supportmatrix"
)

// matrixProviders are the controllers CAPI's support matrix covers: the core
// provider, and the kubeadm bootstrap and control plane providers, which follow it.
var matrixProviders = map[string]string{
	"cluster-api":           "core",
	"bootstrap-kubeadm":     "kubeadm bootstrap",
	"control-plane-kubeadm": "kubeadm control plane",
}

// versionUse is a Kubernetes version the Cluster runs during the upgrade, and
// when: 0 is now, then the numbers of the steps that reach it.
type versionUse struct {
	version string
	steps   []int
}

// versionUses lists the versions the Cluster runs now (those given; "" is
// skipped) and after each step, in order.
func versionUses(now []string, steps []Step) []versionUse {
	var uses []versionUse
	add := func(v string, step int) {
		i := slices.IndexFunc(uses, func(u versionUse) bool { return u.version == v })
		if i < 0 {
			uses = append(uses, versionUse{version: v, steps: []int{step}})
			return
		}
		if !slices.Contains(uses[i].steps, step) {
			uses[i].steps = append(uses[i].steps, step)
		}
	}
	for _, v := range now {
		if v != "" {
			add(v, 0)
		}
	}
	for _, s := range steps {
		add(s.Version, s.Number)
	}
	return uses
}

// supportFindings checks every Kubernetes version the Cluster runs during the
// upgrade (now, then each step's) against the support matrix of each installed
// provider that it covers, with the minimum patch releases.
func supportFindings(st *state.State, current string, steps []Step) []Finding {
	uses := versionUses([]string{current}, steps)
	var out []Finding
	for _, c := range st.ControllerInfo() {
		name, ok := matrixProviders[c.Provider]
		capi, err := parseVersion(c.Version)
		if !ok || err != nil {
			continue
		}
		var problems []string
		var at []int
		for _, u := range uses {
			k8s, err := parseVersion(u.version)
			if err != nil {
				continue
			}
			s := supportmatrix.Lookup(capi, k8s)
			if !s.Known || s.Supported {
				continue
			}
			need := "no release of CAPI v" + fmt.Sprintf("%d.%d", capi.Major, capi.Minor) + " does"
			if s.MinCAPI != "" {
				need = "it needs " + s.MinCAPI + " or newer"
			}
			problems = append(problems, fmt.Sprintf("Kubernetes %s %s (%s)", u.version, when(u.steps), need))
			at = append(at, u.steps...)
		}
		if len(problems) == 0 {
			continue
		}
		slices.Sort(at)
		out = append(out, Finding{Rule: RuleKubernetesVersionUnsupported, Objects: []ObjectRef{{Kind: "Deployment", Namespace: c.Namespace, Name: c.Name}}, Steps: nonZero(slices.Compact(at)),
			Message: fmt.Sprintf("the %s provider %s does not support %s, by CAPI's support matrix (%s): upgrade the provider first",
				name, c.Version, strings.Join(problems, "; "), supportmatrix.Source)})
	}
	return out
}
