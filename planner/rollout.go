package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/utils/ptr"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	kcpdesiredstate "sigs.k8s.io/cluster-api/controlplane/kubeadm/pkg/desiredstate"
	"sigs.k8s.io/cluster-api/core/reconcilers/machinedeployment/mdutil"
)

// rolling is what the in-place pipeline needs from the object that rolls out
// its Machines, a KubeadmControlPlane or a MachineDeployment: the pipeline is
// the same for both, these are where they differ.
type rolling struct {
	kcp      bool
	replicas int
	// surge is how many Machines it creates beyond replicas at once.
	surge int
	// rolloutAfter, when it has passed, replaces every Machine; why says so.
	rolloutAfter    time.Time
	rolloutAfterWhy string
	// singleReplica, when not "", says why its one Machine is always replaced.
	singleReplica string
	// hook is what asks the extension (--ask-extensions); call asks it, per
	// object asked, what it does not cover.
	hook string
	call func(handler string) (map[string][]string, error)
	// notCovered says what happens when the extension is assumed not to cover nc.
	notCovered func(nc []string) string
	// cannotMove counts the Machines replaced rather than updated in place,
	// besides those the extension does not cover, and says which.
	cannotMove func(uncovered map[string][]string) (int, []string)
	// inPlace counts the Machines when the others are updated in place, and says how.
	inPlace func(replaced int) (MachineCounts, string)
}

// rollOut predicts how o's Machines go to the change's version, whose
// differences are d: replaced, or, where CAPI can, updated in place.
func (pr *predictor) rollOut(o rolling, d stepDifferences, p *Prediction) *Prediction {
	rollout := func(rule RuleID, reasons ...string) *Prediction {
		p.Verdict, p.Rule, p.Reasons = VerdictRollout, rule, reasons
		p.Counts = MachineCounts{Created: o.replicas, Deleted: o.replicas, PeakExtra: o.surge}
		return p
	}
	if !o.rolloutAfter.IsZero() && pr.now.After(o.rolloutAfter) {
		return rollout(RuleRolloutAfter, o.rolloutAfterWhy)
	}
	if rule, reason, unknown := pr.inPlaceBlocker(o.kcp); rule != "" {
		if unknown {
			p.Verdict, p.Rule, p.Reasons = VerdictUnknown, rule, []string{reason}
			return p
		}
		return rollout(rule, reason)
	}
	if o.singleReplica != "" {
		return rollout(RuleSingleReplica, o.singleReplica)
	}
	p.Basis = BasisAssumed
	var asked []string
	var uncovered map[string][]string
	if pr.asker != nil && len(d.unevaluated) == 0 {
		var answers int
		uncovered, asked = pr.ask(p, o.hook, func(handler string) (map[string][]string, error) {
			a, err := o.call(handler)
			answers = len(a)
			return a, err
		})
		if len(uncovered) > 0 && len(uncovered) == answers {
			return rollout(RuleNotCovered, asked...)
		}
	}
	if nc := pr.coverage(d.diffs); len(nc) > 0 && p.Basis != BasisConfirmed {
		p.NotCovered = nc
		if slices.Contains(nc, DiffTemplates) && len(nc) == 1 {
			return pr.notEvaluated(p, d)
		}
		return rollout(RuleNotCovered, append([]string{o.notCovered(nc)}, asked...)...)
	}
	replaced, why := o.cannotMove(uncovered)
	reasons := []string{"gates on, one in-place extension, every difference assumed covered"}
	if p.Basis == BasisConfirmed {
		reasons = nil
	}
	counts, how := o.inPlace(replaced)
	p.Counts, p.Reasons, p.Rule = counts, append(append(append(reasons, asked...), why...), how), RuleInPlace
	p.Verdict = verdictOf(counts)
	return p
}

// assumedNotCovered says that the extension is assumed to cover only what
// --assume-extension-covers says, not nc, so that CAPI's check fails.
func (pr *predictor) assumedNotCovered(nc []string, check, replacer string) string {
	return fmt.Sprintf("the extension is assumed to cover %s only, not %s: CAPI's %s check fails and %s replaces the Machines", strings.Join(pr.covered, ", "), strings.Join(nc, ", "), check, replacer)
}

// renewed counts a rollout in place whose one surge Machine stands in for one
// Machine that must be replaced anyway: at least one created and deleted.
func renewed(n, replaced int) MachineCounts {
	r := max(1, replaced)
	return MachineCounts{Created: r, UpdatedInPlace: n - r, Deleted: r, PeakExtra: 1}
}

func (pr *predictor) controlPlane(c *Change, firstStep bool) *Prediction {
	kcp, machines := pr.kcp()
	if kcp == nil {
		return &Prediction{Verdict: VerdictUnknown, Basis: BasisRules, Rule: RuleNotKubeadm, Reasons: []string{"the KubeadmControlPlane could not be read"}}
	}
	n := replicas(kcp.Spec.Replicas)
	surge := 1
	if ms := kcp.Spec.Rollout.Strategy.RollingUpdate.MaxSurge; ms != nil && ms.IntValue() == 0 {
		surge = 0
	}
	var extra []string
	gateChange := kubeadmGatesChange(kcp, c.From, c.To)
	if gateChange != "" {
		extra = append(extra, DiffKubeadmFeatureGates)
	}
	d := pr.differences(c, "builtin.controlPlane.version", firstStep, extra...)
	p := &Prediction{Differences: d.diffs, Basis: BasisRules}
	p.parallel = 1 // KCP works on one Machine at a time
	o := rolling{kcp: true, replicas: n, surge: surge, hook: hookCanUpdateMachine,
		call: func(handler string) (map[string][]string, error) {
			return pr.asker.CanUpdateMachine(pr.ctx, handler, pr.cluster, kcp, c.To, d.templates)
		},
		notCovered: func(nc []string) string {
			why := pr.assumedNotCovered(nc, hookCanUpdateMachine, "KCP")
			if gateChange != "" && slices.Contains(nc, DiffKubeadmFeatureGates) {
				why += " (" + gateChange + ")"
			}
			return why
		},
		// Machines KCP will not update in place (filters.go:52-111), or that the
		// extension does not cover, are replaced instead.
		cannotMove: func(uncovered map[string][]string) (int, []string) {
			return pr.ineligibleKCPMachines(kcp, machines, uncovered)
		},
		inPlace: func(replaced int) (MachineCounts, string) {
			if surge == 1 {
				// Scale-up first (always a new Machine), in place while upToDate < replicas, then the last old one is deleted.
				return renewed(n, replaced), "maxSurge 1: KCP first creates one new Machine, updates the others in place, and deletes the last old one"
			}
			return MachineCounts{Created: replaced, UpdatedInPlace: n - replaced, Deleted: replaced}, "maxSurge 0: KCP updates the Machines in place one at a time"
		},
	}
	if after := kcp.Spec.Rollout.After; !after.IsZero() {
		o.rolloutAfter = after.Time
		o.rolloutAfterWhy = fmt.Sprintf("spec.rollout.after (%s) has passed: CAPI replaces every Machine created before it, never in place", after.UTC().Format(time.RFC3339))
	}
	if n == 1 {
		o.singleReplica = "a single-replica control plane is always replaced: KCP scales up to 2 (maxSurge 1), then the old Machine is no longer needed and is deleted"
	}
	return pr.rollOut(o, d, p)
}

func (pr *predictor) machineDeployment(c *Change, firstStep bool) *Prediction {
	md := pr.md(c.Object)
	if md == nil {
		return &Prediction{Verdict: VerdictUnknown, Basis: BasisRules, Rule: RuleNotKubeadm, Reasons: []string{"the MachineDeployment could not be read"}}
	}
	n := replicas(md.Spec.Replicas)
	d := pr.differences(c, "builtin.machineDeployment.version", firstStep)
	p := &Prediction{Differences: d.diffs, Basis: BasisRules}
	if md.Spec.Rollout.Strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType {
		p.Verdict, p.Rule = VerdictRollout, RuleOnDelete
		p.Reasons = []string{fmt.Sprintf("%s uses the OnDelete strategy: never in place; new Machines come only as someone deletes the old ones, and the topology upgrade waits for it", c.Object)}
		p.Counts = MachineCounts{Created: n, Deleted: n}
		return p
	}
	// mdutil reads spec.replicas, which CAPI's webhook defaults and a snapshot may
	// leave out; it resolves maxSurge into an int32, which wraps for a percentage
	// over 100% of a huge count: never fewer than 0 Machines.
	defaulted := *md
	defaulted.Spec.Replicas = ptr.To(int32(n))
	surge, unavailable := max(0, int(mdutil.MaxSurge(defaulted))), max(0, int(mdutil.MaxUnavailable(defaulted)))
	p.parallel = surge + unavailable
	o := rolling{replicas: n, surge: surge, hook: hookCanUpdateMachineSet,
		call: func(handler string) (map[string][]string, error) {
			nc, err := pr.asker.CanUpdateMachineSet(pr.ctx, handler, md, c.To, d.templates)
			return map[string][]string{md.Name: nc}, err
		},
		notCovered: func(nc []string) string {
			return pr.assumedNotCovered(nc, hookCanUpdateMachineSet, "the MachineDeployment")
		},
		// Machines without a node, or marked for remediation, are not moved but
		// replaced; the extension answers for the whole MachineSet.
		cannotMove: func(map[string][]string) (int, []string) { return pr.unmovableMachines(md) },
		inPlace: func(replaced int) (MachineCounts, string) {
			if surge >= 1 && unavailable == 0 {
				return renewed(n, replaced), fmt.Sprintf("maxSurge %d, maxUnavailable 0: one surge Machine is created for availability, the others move to the new MachineSet and are updated in place, and the last old one is deleted", surge)
			}
			return MachineCounts{Created: replaced, UpdatedInPlace: n - replaced, Deleted: replaced}, fmt.Sprintf("maxSurge %d, maxUnavailable %d: the Machines move to the new MachineSet and are updated in place, %d at a time", surge, unavailable, max(1, unavailable))
		},
	}
	if after := pr.mdRolloutAfter(md); !after.IsZero() {
		o.rolloutAfter = after
		o.rolloutAfterWhy = fmt.Sprintf("rollout.after (%s) has passed: the old MachineSets are not eligible for in-place, every Machine is replaced", after.UTC().Format(time.RFC3339))
	}
	if n == 1 && unavailable == 0 {
		o.singleReplica = "one replica with maxUnavailable 0: the new MachineSet reaches the replica count with the surge Machine, so the old Machine is deleted"
	}
	return pr.rollOut(o, d, p)
}

// kubeadmGatesChange describes how KCP's desired KubeadmConfig feature gates differ
// between two versions, with CAPI's own defaulting (DefaultFeatureGates); "" when not.
func kubeadmGatesChange(kcp *controlplanev1.KubeadmControlPlane, from, to string) string {
	gatesAt := func(v string) map[string]bool {
		spec := kcp.Spec.KubeadmConfigSpec.DeepCopy()
		if sv, err := parseVersion(v); err == nil {
			kcpdesiredstate.DefaultFeatureGates(spec, sv)
		}
		return spec.ClusterConfiguration.FeatureGates
	}
	before, after := gatesAt(from), gatesAt(to)
	var changes []string
	for g := range before {
		if _, ok := after[g]; !ok {
			changes = append(changes, fmt.Sprintf("the KubeadmConfig loses the %s kubeadm feature gate at %s", g, to))
		}
	}
	for g, v := range after {
		if old, ok := before[g]; !ok || old != v {
			changes = append(changes, fmt.Sprintf("the KubeadmConfig gets %s=%t at %s", g, v, to))
		}
	}
	sort.Strings(changes)
	return strings.Join(changes, "; ")
}

// ineligibleKCPMachines counts the control plane Machines KCP replaces rather than
// updates in place: delete or remediate annotations, certificates expiring.
// Machines in alsoReplaced (the extension does not cover them) are counted once.
func (pr *predictor) ineligibleKCPMachines(kcp *controlplanev1.KubeadmControlPlane, machines []*clusterv1.Machine, alsoReplaced map[string][]string) (int, []string) {
	var names []string
	days := kcp.Spec.Rollout.Before.CertificatesExpiryDays
	for _, m := range machines {
		if _, counted := alsoReplaced[m.Name]; counted {
			continue
		}
		switch {
		case hasAnnotation(m, clusterv1.DeleteMachineAnnotation):
			names = append(names, m.Name+" (delete-machine annotation)")
		case hasAnnotation(m, clusterv1.RemediateMachineAnnotation):
			names = append(names, m.Name+" (marked for remediation)")
		case days > 0 && !m.Status.CertificatesExpiryDate.IsZero() && pr.now.AddDate(0, 0, int(days)).After(m.Status.CertificatesExpiryDate.Time):
			names = append(names, fmt.Sprintf("%s (certificates expire %s, within rollout.before.certificatesExpiryDays %d)", m.Name, m.Status.CertificatesExpiryDate.UTC().Format("2006-01-02"), days))
		}
	}
	if len(names) == 0 {
		return len(alsoReplaced), nil
	}
	sort.Strings(names)
	return len(names) + len(alsoReplaced), []string{"replaced, not updated in place: " + strings.Join(names, ", ")}
}

// unmovableMachines counts the MachineDeployment's Machines that an in-place move deletes instead.
func (pr *predictor) unmovableMachines(md *clusterv1.MachineDeployment) (int, []string) {
	var names []string
	for _, m := range pr.st.MachinesOf(md) {
		switch {
		case !m.Status.NodeRef.IsDefined():
			names = append(names, m.Name+" (no node)")
		case hasAnnotation(m, clusterv1.RemediateMachineAnnotation):
			names = append(names, m.Name+" (marked for remediation)")
		}
	}
	if len(names) == 0 {
		return 0, nil
	}
	sort.Strings(names)
	return len(names), []string{"replaced, not moved: " + strings.Join(names, ", ")}
}

func (pr *predictor) mdRolloutAfter(md *clusterv1.MachineDeployment) time.Time {
	if !md.Spec.Rollout.After.IsZero() {
		return md.Spec.Rollout.After.Time
	}
	name := md.Labels[clusterv1.ClusterTopologyMachineDeploymentNameLabel]
	for _, e := range pr.cluster.Spec.Topology.Workers.MachineDeployments {
		if e.Name == name && !e.Rollout.After.IsZero() {
			return e.Rollout.After.Time
		}
	}
	return time.Time{}
}
