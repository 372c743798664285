package planner

import (
	"fmt"
	"math"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// Estimate is an estimated duration and what it rests on.
type Estimate struct {
	Seconds int64  `json:"seconds"`
	Basis   string `json:"basis"`
}

// String renders the estimate as "about 12m".
func (e *Estimate) String() string {
	if e == nil {
		return "no history"
	}
	// In whole seconds, not a time.Duration, which overflows past 292 years.
	minutes := e.Seconds / 60
	if e.Seconds%60 >= 30 {
		minutes++
	}
	if h := minutes / 60; h > 0 {
		return fmt.Sprintf("about %dh%02dm", h, minutes%60)
	}
	return fmt.Sprintf("about %dm", max(1, minutes))
}

// addSeconds adds durations in seconds, saturating instead of overflowing.
func addSeconds(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// pace is how long the Cluster's own controllers took per Machine, learnt
// from its Machines: what an estimate rests on. ready is from a Machine's
// creation to its being ready; cycle, from one Machine's creation to the
// next one's in a rollout of the same owner (its readiness, the controller's
// checks and the deletion of an old Machine); inPlace, from the end of one
// in-place update to the end of the next. cycle and inPlace are known only
// after the Cluster has rolled out or updated Machines in place before;
// until then its peers' may stand in (peerOverhead, peerInPlace).
type pace struct {
	ready, cycle, inPlace sample
	// readyFrom says what ready measures: "Ready" or, for Machines that
	// have no Ready condition (CAPI before v1beta2), "NodeReady".
	readyFrom string
	// early is what ready did with Machines created before the control
	// plane was initialized: left them out (leaveOut: ready measures only
	// Machines created after it), or measured them from it or from their
	// creation.
	early beforeInit
	// joinersOf names the group whose ready a group took over (workers
	// take the control plane's, see joinersPace); empty for its own.
	joinersOf string
	// deletionWait is the least time a deleted Machine holds its owner's
	// rollout up, when no past rollout (cycle) measured it: set for a
	// KubeadmControlPlane (kcpDeletionRecheck). A MachineDeployment is held
	// up too, as it counts a deleting Machine until it is gone
	// (mdutil.TotalMachineSetsReplicaSum takes a MachineSet's status.replicas
	// when larger than its spec), but no code sets a least time for it.
	deletionWait time.Duration
	// updateGaps are the samples of inPlace, which peers pool (peers.go).
	updateGaps []time.Duration
	// peerOverhead is how much longer than their readiness the Machines of
	// its peers' past rollouts took each, and peerInPlace their in-place
	// updates, when its own Machines show neither; ...From say whose.
	peerOverhead, peerInPlace         sample
	peerOverheadFrom, peerInPlaceFrom string
}

// ownCycle says that the group's own past rollouts measured its cycle: one
// no longer than a Machine's readiness is the Cluster's creation, one
// Machine after the other, without deletions.
func (p *pace) ownCycle() bool { return p.cycle.n > 0 && p.cycle.median > p.ready.median }

// kcpDeletionRecheck is how long KCP waits, at least, after it deletes a
// Machine before it looks at the control plane again: its preflight check
// finds the Machine deleting and defers the next reconcile by 5 s
// (controlplane/kubeadm/reconcilers/kubeadmcontrolplane/preflight.go:110-120).
// It creates the next Machine only after the deleted one is gone.
const kcpDeletionRecheck = 5 * time.Second

// sample is the median of n durations.
type sample struct {
	median time.Duration
	n      int
}

func median(d []time.Duration) sample {
	if len(d) == 0 {
		return sample{}
	}
	slices.Sort(d)
	return sample{median: d[len(d)/2], n: len(d)}
}

// lastTurned is when a condition last turned to status, or zero if it has
// another status or is missing.
func lastTurned(conditions []metav1.Condition, condition string, status metav1.ConditionStatus) time.Time {
	c := meta.FindStatusCondition(conditions, condition)
	if c == nil || c.Status != status {
		return time.Time{}
	}
	return c.LastTransitionTime.Time
}

// updatedInPlace is when the Machine's last in-place update ended (zero if it
// has not been updated). CAPI sets Updating to False at a Machine's first
// reconcile, before its infrastructure is ready, and again at the end of an
// update, after it: the infrastructure stays ready through an update.
func updatedInPlace(m *clusterv1.Machine) time.Time {
	end := lastTurned(m.Status.Conditions, clusterv1.MachineUpdatingCondition, metav1.ConditionFalse)
	infra := lastTurned(m.Status.Conditions, clusterv1.MachineInfrastructureReadyCondition, metav1.ConditionTrue)
	if end.IsZero() || infra.IsZero() || !end.After(infra) {
		return time.Time{}
	}
	return end
}

// learnPace measures the pace of a group of Machines (a control plane's, or
// all MachineDeployments' grouped by owner). Machines created before the
// control plane was initialized (initialized, zero if unknown) waited for
// it, so they are left out of ready while others are left; then, for
// Machines that join the control plane (joins: workers), measured from the
// initialization, as CABPK gives them join data, and their infrastructure
// provider starts them, only then.
func learnPace(owners [][]*clusterv1.Machine, initialized time.Time, joins bool) *pace {
	var all []*clusterv1.Machine
	for _, ms := range owners {
		all = append(all, ms...)
	}
	p := readyPace(all, initialized, joins)
	if p == nil {
		return nil
	}
	// A gap counts when it is one step of a sequence: at least the time a
	// Machine takes to be ready (the next one waited for it), at most four
	// times that (not a later, unrelated change).
	inSequence := func(g time.Duration) bool { return g >= p.ready.median*4/5 && g <= 4*p.ready.median }
	var cycles, updates []time.Duration
	for _, ms := range owners {
		// One rollout, or one in-place step, brought its Machines to one
		// version: Machines at different versions are not compared.
		created, ended := map[string][]time.Time{}, map[string][]time.Time{}
		for _, m := range ms {
			v := m.Spec.Version
			switch end := updatedInPlace(m); {
			case !end.IsZero():
				ended[v] = append(ended[v], end)
			case !m.CreationTimestamp.Before(&metav1.Time{Time: initialized}):
				created[v] = append(created[v], m.CreationTimestamp.Time)
			}
		}
		for _, at := range created {
			cycles = append(cycles, gaps(at, inSequence)...)
		}
		for _, at := range ended {
			updates = append(updates, gaps(at, inSequence)...)
		}
	}
	p.cycle, p.inPlace, p.updateGaps = median(cycles), median(updates), updates
	return p
}

// readyPace is the first ready sample that has Machines: Ready before
// NodeReady, and Machines created before the initialization left out before
// they are measured (from the initialization for Machines that join, from
// their creation for the others). nil when no Machine tells.
func readyPace(all []*clusterv1.Machine, initialized time.Time, joins bool) *pace {
	fallback := fromCreation
	if joins {
		fallback = fromInit
	}
	for _, condition := range []string{clusterv1.MachineReadyCondition, clusterv1.MachineNodeReadyCondition} {
		for _, early := range []beforeInit{leaveOut, fallback} {
			if ready := readySample(all, initialized, condition, early); ready.n > 0 {
				return &pace{ready: ready, readyFrom: condition, early: early}
			}
		}
	}
	return nil
}

// joinersPace is the workers' pace, with the ready time of the control
// plane's joiners when no worker was created after the control plane was
// initialized: a worker's readiness measured from the initialization is too
// short, since its creation, and part of its provisioning, came before
// (CABPK holds only its join data back). A control plane Machine created
// after the initialization joins the same way (kubeadm join, the same
// infrastructure provider). A past rollout's cycle of the workers, which
// holds the controllers' pace, still comes first (perMachine).
func joinersPace(workers, controlPlane *pace) *pace {
	if workers == nil || workers.early != fromInit || controlPlane == nil || controlPlane.early != leaveOut ||
		controlPlane.readyFrom != workers.readyFrom || controlPlane.ready.median <= workers.ready.median {
		return workers
	}
	joined := *workers
	joined.ready, joined.early, joined.joinersOf = controlPlane.ready, leaveOut, "control plane's"
	return &joined
}

// beforeInit is what readySample does with a Machine created before the
// control plane was initialized.
type beforeInit int

const (
	leaveOut     beforeInit = iota
	fromInit                // measure it from the initialization
	fromCreation            // measure it from its creation
)

// readySample is the time from creation to the condition turning True, over
// the Machines whose condition was not moved by an in-place update since;
// early says what to do with those created before initialized.
func readySample(machines []*clusterv1.Machine, initialized time.Time, condition string, early beforeInit) sample {
	var d []time.Duration
	for _, m := range machines {
		at := lastTurned(m.Status.Conditions, condition, metav1.ConditionTrue)
		if at.IsZero() || m.CreationTimestamp.IsZero() {
			continue
		}
		if condition == clusterv1.MachineReadyCondition && !updatedInPlace(m).IsZero() {
			continue
		}
		from := m.CreationTimestamp.Time
		if from.Before(initialized) {
			switch early {
			case leaveOut:
				continue
			case fromInit:
				from = initialized
			}
		}
		if took := at.Sub(from); took > 0 {
			d = append(d, took)
		}
	}
	return median(d)
}

// gaps are the times between consecutive instants that keep.
func gaps(at []time.Time, keep func(time.Duration) bool) []time.Duration {
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	var out []time.Duration
	for i := 1; i < len(at); i++ {
		if g := at[i].Sub(at[i-1]); keep(g) {
			out = append(out, g)
		}
	}
	return out
}

// perMachine is how long each created and each in-place updated Machine
// takes, and what that rests on. fromCycle says that created holds the
// deletions: a past rollout's cycle, its own or its peers'.
func (p *pace) perMachine() (created, inPlace time.Duration, basis string, fromCycle bool) {
	created = p.ready.median
	from := "creation"
	if p.early == fromInit {
		from = "creation (for those created earlier, the control plane's initialization)"
	}
	basis = fmt.Sprintf("the median from %s to %s over %d of the Cluster's Machines", from, p.readyFrom, p.ready.n)
	if p.joinersOf != "" {
		basis = fmt.Sprintf("the median from creation to %s over %d of the %s Machines that joined it after its initialization, as a worker joins: the workers, all created before it, waited for it", p.readyFrom, p.ready.n, p.joinersOf)
	}
	switch {
	case p.ownCycle():
		created, fromCycle = p.cycle.median, true
		basis = fmt.Sprintf("the median time between the creations of its Machines one after the other (%d samples), which includes the controllers' checks between them and, in a past rollout, deleting an old Machine", p.cycle.n)
	case p.peerOverhead.n > 0:
		created, fromCycle = created+p.peerOverhead.median, true
		basis += fmt.Sprintf("; plus about %s each for the controllers' checks and deleting an old Machine: how much longer than their readiness the Machines of past rollouts took, the median over %s",
			p.peerOverhead.median.Round(time.Second), p.peerOverheadFrom)
	}
	switch {
	case p.inPlace.n > 0:
		return created, p.inPlace.median, basis + fmt.Sprintf("; in-place updates about %s each: the median time between the ends of its past in-place updates (%d samples)", p.inPlace.median.Round(time.Second), p.inPlace.n), fromCycle
	case p.peerInPlace.n > 0:
		return created, p.peerInPlace.median, basis + fmt.Sprintf("; in-place updates about %s each: the median time between the ends of past in-place updates (%d samples) of %s, which the same extensions update", p.peerInPlace.median.Round(time.Second), p.peerInPlace.n, p.peerInPlaceFrom), fromCycle
	}
	return created, created, basis + " (in-place updates assumed as long)", fromCycle
}

// estimate is n's created then in-place Machines, parallel at a time, and
// the waits for its deleted ones.
func (p *pace) estimate(n MachineCounts, parallel int) *Estimate {
	created, inPlace := n.Created, n.UpdatedInPlace
	if p == nil || created+inPlace == 0 {
		return nil
	}
	parallel = max(1, parallel)
	each, eachInPlace, basis, fromCycle := p.perMachine()
	batches := func(count int) float64 { return float64((count + parallel - 1) / parallel) }
	var deletions float64
	switch {
	case fromCycle || n.Deleted == 0:
	case p.deletionWait > 0:
		deletions = batches(n.Deleted) * p.deletionWait.Seconds()
		basis += fmt.Sprintf("; plus at least %s for each of the %d Machine(s) deleted, as KCP checks again only %s after it deletes one (how long deleting takes is not known before a rollout)",
			p.deletionWait, n.Deleted, p.deletionWait)
	default:
		basis += fmt.Sprintf("; not counted: deleting the %d old Machine(s), each of which holds the rollout until it is gone (how long deleting takes is not known before a rollout)", n.Deleted)
	}
	// In floating point, saturated: batches times a duration overflows a time.Duration for big counts.
	seconds := int64(math.MaxInt64)
	if f := batches(created)*each.Seconds() + batches(inPlace)*eachInPlace.Seconds() + deletions; f < math.MaxInt64 {
		seconds = int64(f)
	}
	what := fmt.Sprintf("%d Machine(s) created", created)
	if inPlace > 0 {
		what += fmt.Sprintf(" and %d updated in place", inPlace)
	}
	return &Estimate{Seconds: seconds,
		Basis: fmt.Sprintf("%s, %d at a time, each created in about %s: %s", what, parallel, each.Round(time.Second), basis)}
}

// stepEstimate adds up a step's changes: worker waves run one after the other,
// the changes of a wave and MachinePools alongside MachineDeployments in parallel.
func stepEstimate(s *Step) *Estimate {
	if s.Kind == StepControlPlane {
		return s.Changes[0].Prediction.Duration
	}
	byKind := map[string]map[int]int64{}
	for _, c := range s.Changes {
		d := c.Prediction.Duration
		if d == nil {
			if c.Prediction.Counts.Created+c.Prediction.Counts.UpdatedInPlace > 0 {
				return nil // one unknown part makes the whole unknown
			}
			continue
		}
		if byKind[c.Object.Kind] == nil {
			byKind[c.Object.Kind] = map[int]int64{}
		}
		byKind[c.Object.Kind][c.Wave] = max(byKind[c.Object.Kind][c.Wave], d.Seconds)
	}
	var longest int64
	for _, waves := range byKind {
		var sum int64
		for _, s := range waves {
			sum = addSeconds(sum, s)
		}
		longest = max(longest, sum)
	}
	return &Estimate{Seconds: longest, Basis: "worker waves one after the other; MachinePools alongside MachineDeployments"}
}

// totalEstimate adds up the steps; unknown if any step with Machines to touch is.
func totalEstimate(steps []Step) *Estimate {
	var sum int64
	for _, s := range steps {
		if s.Duration == nil {
			if s.Machines != nil && s.Machines.Created+s.Machines.UpdatedInPlace > 0 {
				return nil
			}
			continue
		}
		sum = addSeconds(sum, s.Duration.Seconds)
	}
	return &Estimate{Seconds: sum, Basis: "the steps one after the other, without waiting for hooks"}
}
