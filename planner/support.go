package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/blang/semver/v4"

	"github.com/capi-planner/capi-planner/internal/supportmatrix"
	"github.com/capi-planner/capi-planner/state"
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

// coreProvider is the core provider's version and the object it is read from:
// its controller's Deployment (image tag), else clusterctl's CoreProvider.
// ok is false when neither was read or is a version.
func coreProvider(st *state.State) (v semver.Version, from ObjectRef, ok bool) {
	for _, c := range st.ControllerInfo() {
		if c.Provider == "cluster-api" {
			if v, err := parseVersion(c.Version); err == nil {
				return v, ObjectRef{Kind: "Deployment", Namespace: c.Namespace, Name: c.Name}, true
			}
		}
	}
	for _, p := range st.ProviderInfos() {
		if p.Type == "CoreProvider" {
			if v, err := parseVersion(p.Version); err == nil {
				return v, ObjectRef{Kind: "Provider", Namespace: p.Namespace, Name: p.Name}, true
			}
		}
	}
	return semver.Version{}, ObjectRef{}, false
}

// managementVersionFindings checks the management cluster's own Kubernetes
// version against the installed core provider's column of the support matrix:
// CAPI supports some versions only for workload clusters, and the management
// cluster must run one it supports for itself. Nothing is reported when either
// version is unknown (a snapshot without a ManagementCluster record, controllers
// not read) or when the matrix has no column for the CAPI minor: it is not guessed.
func managementVersionFindings(st *state.State) []Finding {
	if st.Management == nil {
		return nil
	}
	k8s, err := parseVersion(st.Management.KubernetesVersion)
	capi, from, ok := coreProvider(st)
	if err != nil || !ok {
		return nil
	}
	s := supportmatrix.Lookup(capi, k8s)
	if !s.Known || (s.Supported && !s.WorkloadOnly) {
		return nil
	}
	k8sMinor, capiMinor := fmt.Sprintf("v%d.%d", k8s.Major, k8s.Minor), fmt.Sprintf("v%d.%d", capi.Major, capi.Minor)
	capiV := "v" + capi.String()
	var says string
	switch {
	case s.Supported:
		says = fmt.Sprintf("supports %s only for workload clusters, not for the management cluster", k8sMinor)
	case s.MinCAPI != "" && s.WorkloadOnly:
		says = fmt.Sprintf("does not support %s: CAPI %s or newer does, for workload clusters only", k8sMinor, s.MinCAPI)
	case s.MinCAPI != "":
		says = fmt.Sprintf("does not support %s: CAPI %s or newer does", k8sMinor, s.MinCAPI)
	default:
		says = fmt.Sprintf("does not support %s at all (the matrix does not list it for CAPI %s)", k8sMinor, capiMinor)
	}
	// Neither Kubernetes nor CAPI is downgraded: only newer versions are a way out.
	var newer []string
	for _, m := range supportmatrix.ManagementMinors(capi) {
		if v, err := parseVersion(m); err == nil && (v.Major > k8s.Major || v.Major == k8s.Major && v.Minor > k8s.Minor) {
			newer = append(newer, m)
		}
	}
	var todo []string
	if len(newer) > 0 {
		todo = append(todo, fmt.Sprintf("upgrade the management cluster's Kubernetes, one minor at a time, to %s or newer: CAPI %s supports %s for the management cluster",
			newer[0], capiV, strings.Join(newer, ", ")))
	}
	if first := supportmatrix.FirstManagementRelease(k8s, capi); first != "" {
		todo = append(todo, fmt.Sprintf("upgrade CAPI to %s or newer, which supports %s for the management cluster", first, k8sMinor))
	}
	if len(todo) == 0 {
		todo = append(todo, fmt.Sprintf("the matrix lists neither a newer CAPI release that supports %s for the management cluster nor a newer Kubernetes minor that CAPI %s supports for it: check whether a CAPI release newer than the matrix supports it, or move the CAPI installation (clusterctl move) to a management cluster of a supported version", k8sMinor, capiV))
	}
	return []Finding{{Rule: RuleManagementVersionUnsupported, Objects: []ObjectRef{from},
		Message: fmt.Sprintf("the management cluster runs Kubernetes %s; the installed core provider, CAPI %s, %s, by CAPI's support matrix (%s): %s",
			st.Management.KubernetesVersion, capiV, says, supportmatrix.Source, strings.Join(todo, "; or "))}}
}
