package planner

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/cluster-api/exp/topology/desiredstate"
)

// simWorker is one MachineDeployment or MachinePool as the simulation tracks it.
type simWorker struct {
	ref ObjectRef
	// topologyName is the entry name in Cluster spec.topology.workers (topology Clusters).
	topologyName string
	version      string
	// deferredBy is the annotation that defers this worker's upgrade ("" when none).
	deferredBy string
	// kubeadmBootstrap: Machines bootstrap with a CABPK KubeadmConfigTemplate
	// (the MachineSet KubeadmVersionSkew preflight check applies).
	kubeadmBootstrap bool
	// skippedPreflight are the MachineSet preflight checks skipped by annotation.
	skippedPreflight map[string]bool
}

func (w *simWorker) key() string { return w.ref.Name }

// simulation replays, one decision at a time, how the topology controller (or, for
// unmanaged Clusters, capi-planner itself) moves a Cluster to the desired version.
// Like the controller, it recomputes CAPI's plan from scratch before every decision.
type simulation struct {
	// ctx is Plan's, for the calls CAPI's plan code makes to extensions.
	ctx context.Context
	// desired is the version of the upgrade being simulated: each of writes in turn.
	desired string
	// writes are the spec.topology.version values written one after the other
	// (more than one only for a ClusterClass that allows one minor per write),
	// or the one target of an unmanaged Cluster or a chained upgrade.
	writes []string
	// topologyWrite is the Cluster spec.topology.version write a stepwise
	// upgrade starts each of its writes with (From: the version before them).
	topologyWrite *Patch
	controlPlane  string
	cpRef         ObjectRef
	mds, mps      []*simWorker
	planFn        desiredstate.GetUpgradePlanFunc
	topology      bool
	concurrency   int
	hooks         hookRegistry
	// afterClusterUpgradePending: the Cluster's pending-hooks annotation already holds
	// AfterClusterUpgrade (an upgrade is in flight), so BeforeClusterUpgrade is not called again.
	afterClusterUpgradePending bool
	// startBlockers stall the first control plane step (before-upgrade hook annotations).
	startBlockers []Blocker
}

// simResult is the outcome of a simulation.
type simResult struct {
	// initial is CAPI's plan for the first write, as the controller computes it first.
	initial capiPlan
	// paths are CAPI's plans of every write, one after the other.
	paths UpgradePaths
	steps []Step
	// states[i] is the Cluster after step i; states[0] is before the first step.
	states []simState
}

// simState is the version of every object at one point of the simulation.
type simState struct {
	controlPlane string
	workers      map[ObjectRef]string
}

func (s *simulation) snapshot() simState {
	st := simState{controlPlane: s.controlPlane, workers: map[ObjectRef]string{}}
	for _, w := range s.allWorkers() {
		st.workers[w.ref] = w.version
	}
	return st
}

func (s *simulation) allWorkers() []*simWorker {
	return append(append([]*simWorker{}, s.mds...), s.mps...)
}

// maxDecisions bounds the simulation; a real plan needs at most two per minor.
const maxDecisions = 200

// errNoWorkersPlan marks CAPI's nil-workers-plan pitfall (semantics reference §1.4).
type errNoWorkersPlan struct{ minWorkers, desired string }

func (e errNoWorkersPlan) Error() string {
	return fmt.Sprintf("CAPI computes no workers upgrade plan from %s to %s although workers are behind "+
		"(DefaultAndValidateUpgradePlans returns neither a plan nor an error when an intermediate minor is unknown, "+
		"exp/topology/desiredstate/upgrade_plan.go:225); the topology controller would fail with "+
		"\"cannot compute the machine deployment version if the machine deployment is pending upgrade and the upgrade plan is not set\"; "+
		"this state only arises when webhooks were bypassed: bring the lagging workers within 3 minors of the control plane first",
		e.minWorkers, e.desired)
}

// run simulates each write in turn: for a stepwise topology upgrade every
// write is an upgrade of its own, with its own hooks, made once the previous
// one has landed; its first step carries the write.
func (s *simulation) run() (simResult, error) {
	var res simResult
	res.states = append(res.states, s.snapshot())
	from := ""
	if s.topologyWrite != nil {
		from = s.topologyWrite.From
	}
	for i, desired := range s.writes {
		s.desired = desired
		first := len(res.steps)
		if err := s.runUpgrade(&res, i == 0); err != nil {
			return res, err
		}
		if s.topologyWrite != nil && len(res.steps) > first && len(res.steps[first].Changes) > 0 {
			w := *s.topologyWrite
			w.From, w.To = from, desired
			res.steps[first].Changes[0].Patch = &w
		}
		from = desired
	}
	return res, nil
}

// runUpgrade simulates the upgrade to s.desired, appending its steps.
func (s *simulation) runUpgrade(res *simResult, first bool) error {
	var (
		beforeClusterCalled bool
		workersHooksPending bool
	)
	afterClusterUpgradePending := first && s.afterClusterUpgradePending
	start := len(res.steps)
	for decision := 0; ; decision++ {
		if decision >= maxDecisions {
			return fmt.Errorf("the simulation did not reach %s after %d steps; please report this with the snapshot", s.desired, maxDecisions)
		}
		p, err := computeCAPIPlan(s.ctx, s.desired, s.controlPlane, s.mds, s.mps, s.planFn)
		if err != nil {
			return err
		}
		if decision == 0 {
			if first {
				res.initial = p
			}
			res.paths.ControlPlane = append(res.paths.ControlPlane, p.controlPlane...)
			res.paths.Workers = append(res.paths.Workers, p.workers...)
		}
		if len(p.controlPlane) == 0 && len(p.workers) == 0 {
			if p.minWorkers != "" && p.minWorkers != s.desired && s.controlPlane == s.desired {
				return errNoWorkersPlan{minWorkers: p.minWorkers, desired: s.desired}
			}
			break
		}
		var step Step
		if len(p.workers) > 0 && p.workers[0] == s.controlPlane {
			// Workers go first: the control plane waits for them (desired_state.go:629-636).
			step = s.workersStep(p.workers[0])
			if workersHooksPending {
				step.HooksBefore = s.hooks.hooks(hookBeforeWorkersUpgrade)
				step.HooksAfter = s.hooks.hooks(hookAfterWorkersUpgrade)
				workersHooksPending = false
			}
			if len(step.Changes) == 0 {
				return fmt.Errorf("the workers plan waits for workers at %s but none would move; please report this with the snapshot", p.workers[0])
			}
		} else {
			if len(p.controlPlane) == 0 {
				return fmt.Errorf("CAPI's workers plan %v does not start at the control plane version %s and the control plane has no step left; please report this with the snapshot", p.workers, s.controlPlane)
			}
			next := p.controlPlane[0]
			step = Step{Kind: StepControlPlane, Version: next}
			change := Change{Object: s.cpRef, From: s.controlPlane, To: next}
			if !s.topology {
				change.Patch = &Patch{Object: s.cpRef, Field: "spec.version", From: s.controlPlane, To: next}
			}
			step.Changes = []Change{change}
			if !beforeClusterCalled && !afterClusterUpgradePending {
				step.HooksBefore = s.hooks.hooks(hookBeforeClusterUpgrade)
				if first {
					// Later writes assume the operator removed the annotations.
					step.Blockers = append(step.Blockers, s.startBlockers...)
				}
				beforeClusterCalled = true
			}
			step.HooksBefore = append(step.HooksBefore, s.hooks.hooks(hookBeforeControlPlaneUpgrade)...)
			step.HooksAfter = s.hooks.hooks(hookAfterControlPlaneUpgrade)
			// BeforeWorkersUpgrade/AfterWorkersUpgrade are marked pending when this
			// control plane step is also a worker step (getHooksToMarkPending).
			workersHooksPending = len(p.workers) > 0 && p.workers[0] == next
			s.controlPlane = next
		}
		step.Number = len(res.steps) + 1
		res.steps = append(res.steps, step)
		res.states = append(res.states, s.snapshot())
	}
	if n := len(res.steps); n > start && s.topology && (beforeClusterCalled || afterClusterUpgradePending) {
		last := &res.steps[n-1]
		last.HooksAfter = append(last.HooksAfter, s.hooks.hooks(hookAfterClusterUpgrade)...)
	}
	return nil
}

// workersStep moves every worker not yet at version to it: MachineDeployments in
// topology order, concurrency at a time, MachinePools in parallel with their own budget.
// Deferred workers stall the step; the plan then assumes the operator lifts the deferral.
func (s *simulation) workersStep(version string) Step {
	step := Step{Kind: StepWorkers, Version: version}
	for _, group := range [][]*simWorker{s.mds, s.mps} {
		var moving, deferred []*simWorker
		for _, w := range group {
			if w.version == version {
				continue
			}
			if w.deferredBy != "" {
				deferred = append(deferred, w)
			} else {
				moving = append(moving, w)
			}
		}
		wave := 0
		for i, w := range moving {
			wave = i/s.concurrency + 1
			step.Changes = append(step.Changes, s.move(w, version, wave, false))
		}
		for i, w := range deferred {
			step.Changes = append(step.Changes, s.move(w, version, wave+i/s.concurrency+1, true))
		}
		if len(deferred) > 0 {
			step.Blockers = append(step.Blockers, s.deferralBlocker(deferred))
			for _, w := range deferred {
				w.deferredBy = ""
			}
		}
	}
	return step
}

func (s *simulation) move(w *simWorker, version string, wave int, deferred bool) Change {
	c := Change{Object: w.ref, TopologyName: w.topologyName, From: w.version, To: version, Wave: wave, Deferred: deferred}
	if !s.topology {
		c.Patch = &Patch{Object: w.ref, Field: "spec.template.spec.version", From: w.version, To: version}
	}
	w.version = version
	return c
}

func (s *simulation) deferralBlocker(deferred []*simWorker) Blocker {
	b := Blocker{Rule: RuleUpgradeDeferred}
	var names []string
	for _, w := range deferred {
		b.Objects = append(b.Objects, w.ref)
		names = append(names, fmt.Sprintf("%s (%s)", w.ref.Name, w.deferredBy))
	}
	list := "machineDeployments"
	if deferred[0].ref.Kind == "MachinePool" {
		list = "machinePools"
	}
	consequence := fmt.Sprintf("the control plane waits at %s until the annotation is removed", s.controlPlane)
	if s.controlPlane == s.desired {
		consequence = "the Cluster stays ClusterUpgrading (UpgradeDeferred) and AfterClusterUpgrade is not called until the annotation is removed"
	}
	b.Message = fmt.Sprintf("%s deferred by annotation on spec.topology.workers.%s[].metadata.annotations: %s; the later steps assume it is removed",
		strings.Join(names, ", "), list, consequence)
	return b
}
