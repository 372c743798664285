package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// In-place hook names.
const (
	hookCanUpdateMachine    = "CanUpdateMachine"
	hookCanUpdateMachineSet = "CanUpdateMachineSet"
	hookUpdateMachine       = "UpdateMachine"
)

// inPlaceBlocker says why in-place is impossible whatever the change ("" when possible),
// with the rule, and whether the answer is unknown rather than no.
func (pr *predictor) inPlaceBlocker(kcp bool) (rule RuleID, reason string, unknown bool) {
	g := pr.gates
	switch {
	case !g.coreKnown || (kcp && !g.kcpKnown):
		return RuleGatesUnknown, "the controllers' feature gates are unknown (their Deployments were not read): pass --feature-gates or include the capi-system Deployments in the snapshot", true
	case !g.coreInPlace || !g.coreSDK:
		return RuleGatesOff, fmt.Sprintf("in-place updates need InPlaceUpdates and RuntimeSDK on the core controller (%s): Machines are replaced", g.source), false
	case kcp && !g.kcpInPlace:
		return RuleGatesOff, fmt.Sprintf("in-place updates of control plane Machines need InPlaceUpdates on the KubeadmControlPlane controller too (%s): Machines are replaced", g.source), false
	}
	can := hookCanUpdateMachineSet
	if kcp {
		can = hookCanUpdateMachine
	}
	for _, hook := range []string{can, hookUpdateMachine} {
		switch n := len(pr.hooks[hook]); {
		case n == 0:
			return RuleNoExtension, fmt.Sprintf("no ExtensionConfig registers a %s handler for namespace %s: CAPI falls back to replacing Machines", hook, pr.cluster.Namespace), false
		case n > 1:
			return RuleManyExtensions, fmt.Sprintf("%d extensions register %s (%s); CAPI supports exactly one and errors on every reconcile: the rollout is stuck until one is removed", n, hook, strings.Join(pr.hooks[hook], ", ")), true
		}
	}
	return "", "", false
}

// ask asks the one registered handler of hook (--ask-extensions). When it answers,
// the prediction's basis becomes Confirmed and its notCovered what the extension
// does not cover; when the call fails, the prediction keeps its assumption. The
// reasons say which.
//
// call answers per object asked (the MachineSet, or each control plane Machine)
// what the extension does not cover; uncovered lists the objects it does not
// cover everything of, with what.
func (pr *predictor) ask(p *Prediction, hook string, call func(handler string) (map[string][]string, error)) (uncovered map[string][]string, reasons []string) {
	handler := pr.hooks[hook][0]
	answers, err := call(handler)
	if err != nil {
		p.AskFailed = fmt.Sprintf("%s %s: %v", hook, handler, err)
		return nil, []string{fmt.Sprintf("asking the extension failed (%v): the verdict rests on the assumption that it covers %s", err, strings.Join(pr.covered, ", "))}
	}
	p.Basis = BasisConfirmed
	uncovered = map[string][]string{}
	for name, nc := range answers {
		if len(nc) > 0 {
			uncovered[name] = nc
			for _, d := range nc {
				if !slices.Contains(p.NotCovered, d) {
					p.NotCovered = append(p.NotCovered, d)
				}
			}
		}
	}
	sort.Strings(p.NotCovered)
	switch {
	case len(uncovered) == 0:
		return nil, []string{fmt.Sprintf("asked with %s, the extension %s covers every difference", hook, handler)}
	case len(uncovered) == len(answers):
		return uncovered, []string{fmt.Sprintf("asked with %s, the extension %s does not cover %s: the Machines are replaced", hook, handler, strings.Join(p.NotCovered, ", "))}
	default:
		var names []string
		for name, nc := range uncovered {
			names = append(names, fmt.Sprintf("%s (%s)", name, strings.Join(nc, ", ")))
		}
		sort.Strings(names)
		return uncovered, []string{fmt.Sprintf("asked with %s, the extension %s covers every difference but for %s, which are replaced", hook, handler, strings.Join(names, "; "))}
	}
}
