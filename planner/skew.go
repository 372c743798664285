package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/blang/semver/v4"

	"github.com/capi-planner/capi-planner/internal/english"
)

// MachineSet preflight checks that stop lagging workers from creating Machines
// (core/reconcilers/machineset/machineset_preflight.go).
const (
	preflightKubeadmVersionSkew      = "KubeadmVersionSkew"
	preflightControlPlaneVersionSkew = "ControlPlaneVersionSkew"
	preflightAll                     = "All"
)

// skewFindings checks every state of the plan against the upstream Kubernetes skew
// policy (a kubelet may be 3 minors older than the API server, 2 when it is older
// than v1.25, never newer), and lists the steps during which lagging kubeadm
// workers cannot scale up or be remediated.
func skewFindings(ws workerSet, res simResult, topology bool, g gates) []Finding {
	var out []Finding
	var scaling []preflightBlock
	for _, w := range ws.all() {
		var policy, newer, blockedSteps []int
		blocked := map[string]bool{}
		for i, st := range res.states {
			cpV, errCP := parseVersion(st.controlPlane)
			wV, errW := parseVersion(st.workers[w.ref])
			if errCP != nil || errW != nil {
				continue
			}
			allowed := MaxKubeletSkew(wV)
			switch {
			case compareVersions(wV, cpV) == 1:
				newer = append(newer, i)
			case cpV.Minor > wV.Minor+allowed:
				policy = append(policy, i)
			}
			if w.ref.Kind != "MachineDeployment" || w.skippedPreflight[preflightAll] {
				continue
			}
			kubeadm := w.kubeadmBootstrap && wV.Minor != cpV.Minor && !w.skippedPreflight[preflightKubeadmVersionSkew]
			exact := topology && st.workers[w.ref] != st.controlPlane && !w.skippedPreflight[preflightControlPlaneVersionSkew]
			blocked[preflightKubeadmVersionSkew] = blocked[preflightKubeadmVersionSkew] || kubeadm
			blocked[preflightControlPlaneVersionSkew] = blocked[preflightControlPlaneVersionSkew] || exact
			if kubeadm || exact {
				blockedSteps = append(blockedSteps, i)
			}
		}
		ref := w.ref
		if len(policy) > 0 {
			out = append(out, Finding{Rule: RuleVersionSkewPolicy, Objects: []ObjectRef{ref}, Steps: nonZero(policy),
				Message: fmt.Sprintf("%s lags the control plane by more than the Kubernetes version skew policy allows (3 minors; 2 for kubelets older than v1.25) %s", ref, when(policy))})
		}
		if len(newer) > 0 {
			out = append(out, Finding{Rule: RuleVersionSkewPolicy, Objects: []ObjectRef{ref}, Steps: nonZero(newer),
				Message: fmt.Sprintf("%s is newer than the control plane %s; kubelets must not be newer than the API server", ref, when(newer))})
		}
		if len(blockedSteps) > 0 {
			var checks []string
			for _, c := range []string{preflightKubeadmVersionSkew, preflightControlPlaneVersionSkew} {
				if blocked[c] {
					checks = append(checks, c)
				}
			}
			scaling = appendPreflight(scaling, ref, checks, blockedSteps)
		}
	}
	for _, b := range scaling {
		names := make([]string, len(b.objects))
		for i, o := range b.objects {
			names[i] = o.Name
		}
		out = append(out, conditional(Finding{Rule: RuleWorkersCannotScale, Objects: b.objects, Steps: nonZero(b.steps),
			Message: fmt.Sprintf("%s %s cannot create Machines %s, while lagging the control plane: the MachineSet preflight %s %s %s scale-ups (cluster-autoscaler's too) and MachineHealthCheck remediation; the annotation machineset.cluster.x-k8s.io/skip-preflight-checks lifts them if you accept the risk",
				english.Plural("MachineDeployment", len(names)), strings.Join(names, ", "), when(b.steps), english.Plural("check", len(b.checks)), strings.Join(b.checks, " and "), english.Choose("blocks", "block", len(b.checks)))},
			preflightOn(g))...)
	}
	return out
}

// preflightBlock groups the MachineDeployments that the same preflight checks
// block after the same steps, so that one finding names them all.
type preflightBlock struct {
	objects []ObjectRef
	checks  []string
	steps   []int
}

func appendPreflight(blocks []preflightBlock, ref ObjectRef, checks []string, steps []int) []preflightBlock {
	for i := range blocks {
		if slices.Equal(blocks[i].checks, checks) && slices.Equal(blocks[i].steps, steps) {
			blocks[i].objects = append(blocks[i].objects, ref)
			return blocks
		}
	}
	return append(blocks, preflightBlock{objects: []ObjectRef{ref}, checks: checks, steps: steps})
}

// pitfallFindings flags known CAPI behaviours that surprise operators (semantics
// reference §1.2, §1.9), when the installed core controller has them.
func pitfallFindings(src VersionSource, res simResult, core *semver.Version, g gates) []Finding {
	var out []Finding
	cp := res.initial.controlPlane
	is112 := precondition{known: core != nil, what: "the core controller is CAPI v1.12.x"}
	if core != nil {
		is112.holds = core.Major == 1 && core.Minor == 12
	}
	if len(cp) > 1 {
		out = append(out, conditional(Finding{Rule: RuleCAPIv112RuntimeSDKOff,
			Message: "on CAPI v1.12.x with the RuntimeSDK feature gate off, a multi-step upgrade stalls at the first intermediate control plane step (the upgrade-step annotation is only set with RuntimeSDK; fixed in v1.13.0): upgrade CAPI or enable RuntimeSDK first"},
			is112, precondition{known: g.coreKnown, holds: !g.coreSDK, what: "its RuntimeSDK gate is off"})...)
	}
	if src.Type == SourceClusterClass && len(cp) > 0 && len(res.states) > 0 {
		from, err1 := parseVersion(res.states[0].controlPlane)
		to, err2 := parseVersion(cp[len(cp)-1])
		before1124 := precondition{known: core != nil, what: "the core controller is CAPI v1.12.0-v1.12.3"}
		if core != nil {
			before1124.holds = is112.holds && core.Patch < 4
		}
		if err1 == nil && err2 == nil && from.Minor == to.Minor {
			out = append(out, conditional(Finding{Rule: RuleCAPIv112PatchOnly,
				Message: "on CAPI v1.12.0-v1.12.3 a patch-only upgrade with a ClusterClass version list fails (\"control plane upgrade plan must end with version ...\"; fixed in v1.12.4 and v1.13.0)"},
				before1124)...)
		}
	}
	return out
}

// when renders the states a finding applies to ("now", "after step 2", ...).
func when(states []int) string {
	var parts []string
	if states[0] == 0 {
		parts = append(parts, "now")
	}
	if rest := nonZero(states); len(rest) > 0 {
		parts = append(parts, "after "+StepRanges(rest))
	}
	return strings.Join(parts, " and ")
}

func nonZero(states []int) []int {
	var out []int
	for _, s := range states {
		if s != 0 {
			out = append(out, s)
		}
	}
	return out
}

// StepRanges renders step numbers compactly: "step 3", "steps 1-4", "steps 1-2, 5".
func StepRanges(steps []int) string {
	if len(steps) == 1 {
		return fmt.Sprintf("step %d", steps[0])
	}
	var parts []string
	for i := 0; i < len(steps); {
		j := i
		for j+1 < len(steps) && steps[j+1] == steps[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprint(steps[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", steps[i], steps[j]))
		}
		i = j + 1
	}
	return "steps " + strings.Join(parts, ", ")
}

// MaxKubeletSkew is how many minors a kubelet at version v may lag the API
// server by the upstream skew policy: 3, or 2 for kubelets older than v1.25.
func MaxKubeletSkew(v semver.Version) uint64 {
	if v.Major == 1 && v.Minor < 25 {
		return 2
	}
	return 3
}
