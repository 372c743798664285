package upgrade

import (
	"fmt"
	"sort"
	"sync"

	toolscache "k8s.io/client-go/tools/cache"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/planfile"
	"github.com/capi-planner/capi-planner/planner"
)

// tracker counts what happens to the Cluster's Machines, per step and object,
// from the Machine watch: created, updated in place (same Machine, new
// version) or deleted. It attributes each to the change of the plan whose
// object owns the Machine and whose version it reaches (created, in place)
// or leaves (deleted).
//
// Machines that changed while no apply was watching (before a rerun) are
// counted from the difference with the plan's inputs once the watch lists
// them: a Machine created and deleted in that time is not seen.
type tracker struct {
	plan  *planner.ClusterPlan
	cpRef planner.ObjectRef
	// baseline are the Machines of the plan's inputs, by uid: their version
	// then, and their owner.
	baseline map[string]string
	owners   map[string]planner.ObjectRef
	// emit queues a Machine event for each change seen; it must not block.
	emit func(Event)

	mu       sync.Mutex
	versions map[string]string // uid -> last version seen
	names    map[string]string // uid -> name
	counts   map[countKey]*planner.MachineCounts
	// unattributed are Machine changes no change of the plan explains.
	unattributed []string
	// listed is set once the watch has listed every Machine.
	listed bool
}

type countKey struct {
	step   int
	object planner.ObjectRef
}

func newTracker(plan *planner.ClusterPlan, cpRef planner.ObjectRef, inputs []planfile.Object, emit func(Event)) *tracker {
	t := &tracker{plan: plan, cpRef: cpRef, baseline: map[string]string{}, owners: map[string]planner.ObjectRef{}, emit: emit,
		versions: map[string]string{}, names: map[string]string{}, counts: map[countKey]*planner.MachineCounts{}}
	for _, o := range inputs {
		if o.Kind == "Machine" {
			t.baseline[o.UID] = o.Version
			t.names[o.UID] = o.Name
			if o.Owner != nil {
				t.owners[o.UID] = *o.Owner
			}
		}
	}
	return t
}

// handler is the Machine watch's event handler.
func (t *tracker) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, _ bool) {
			if m, ok := obj.(*clusterv1.Machine); ok {
				t.seen(m)
			}
		},
		UpdateFunc: func(_, obj any) {
			if m, ok := obj.(*clusterv1.Machine); ok {
				t.seen(m)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if m, ok := obj.(*clusterv1.Machine); ok {
				t.deleted(m)
			}
		},
	}
}

// listedAll is called once the watch has listed every Machine: Machines of the
// inputs not seen by then were deleted while no apply was watching.
func (t *tracker) listedAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.listed = true
	var gone []string
	for uid := range t.baseline {
		if _, ok := t.versions[uid]; !ok {
			gone = append(gone, uid)
		}
	}
	sort.Strings(gone)
	for _, uid := range gone {
		t.record(MachineDeleted, t.names[uid], t.owners[uid], t.baseline[uid])
		t.versions[uid] = ""
	}
}

func (t *tracker) seen(m *clusterv1.Machine) {
	t.mu.Lock()
	defer t.mu.Unlock()
	uid := string(m.UID)
	t.names[uid] = m.Name
	last, known := t.versions[uid]
	if !known {
		last, known = t.baseline[uid]
	}
	t.versions[uid] = m.Spec.Version
	switch {
	case !known:
		t.record(MachineCreated, m.Name, t.owner(m), m.Spec.Version)
	case last != m.Spec.Version && last != "":
		t.record(MachineInPlace, m.Name, t.owner(m), m.Spec.Version)
	}
}

func (t *tracker) deleted(m *clusterv1.Machine) {
	t.mu.Lock()
	defer t.mu.Unlock()
	uid := string(m.UID)
	if v, ok := t.versions[uid]; ok && v == "" {
		return
	}
	t.versions[uid] = ""
	t.record(MachineDeleted, m.Name, t.owner(m), m.Spec.Version)
}

func (t *tracker) owner(m *clusterv1.Machine) planner.ObjectRef {
	if name := m.Labels[clusterv1.MachineControlPlaneNameLabel]; name != "" {
		return planner.ObjectRef{Kind: t.cpRef.Kind, Namespace: m.Namespace, Name: name}
	}
	if name := m.Labels[clusterv1.MachineDeploymentNameLabel]; name != "" {
		return planner.ObjectRef{Kind: "MachineDeployment", Namespace: m.Namespace, Name: name}
	}
	return planner.ObjectRef{}
}

// record attributes a change to a step and emits its event; t.mu is held.
func (t *tracker) record(change MachineChange, name string, owner planner.ObjectRef, version string) {
	step, object := t.attribute(change, owner, version)
	machine := &planner.ObjectRef{Kind: "Machine", Namespace: t.plan.Cluster.Namespace, Name: name}
	ev := Event{Type: EventMachine, Step: step, Machine: machine, Change: change, Version: version}
	if step == 0 {
		t.unattributed = append(t.unattributed, fmt.Sprintf("Machine %s %s at %s, which no step of the plan explains", name, change, version))
	} else {
		ev.Object = &object
		c := t.counts[countKey{step, object}]
		if c == nil {
			c = &planner.MachineCounts{}
			t.counts[countKey{step, object}] = c
		}
		switch change {
		case MachineCreated:
			c.Created++
		case MachineInPlace:
			c.UpdatedInPlace++
		case MachineDeleted:
			c.Deleted++
		}
	}
	t.emit(ev)
}

// attribute finds the step and object of the plan a Machine change belongs to:
// the change of its owner reaching version (created, in place) or leaving it
// (deleted). A deleted Machine of unknown owner goes to the first change
// leaving its version.
func (t *tracker) attribute(change MachineChange, owner planner.ObjectRef, version string) (int, planner.ObjectRef) {
	for _, s := range t.plan.Steps {
		for _, ch := range s.Changes {
			if owner != (planner.ObjectRef{}) && ch.Object != owner {
				continue
			}
			if (change == MachineDeleted && ch.From == version) || (change != MachineDeleted && ch.To == version) {
				return s.Number, ch.Object
			}
		}
	}
	return 0, planner.ObjectRef{}
}

// compare lists how a step's Machines differ from the prediction.
func (t *tracker) compare(step planner.Step) ([]ObjectProgress, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var progress []ObjectProgress
	var diffs []string
	for _, ch := range step.Changes {
		var observed planner.MachineCounts
		if c := t.counts[countKey{step.Number, ch.Object}]; c != nil {
			observed = *c
		}
		var predicted planner.MachineCounts
		if ch.Prediction != nil {
			predicted = ch.Prediction.Counts
		}
		progress = append(progress, ObjectProgress{Object: ch.Object, Observed: observed, Predicted: predicted})
		if ch.Prediction == nil || ch.Prediction.Verdict == planner.VerdictUnknown {
			continue
		}
		if observed.Created != predicted.Created || observed.UpdatedInPlace != predicted.UpdatedInPlace || observed.Deleted != predicted.Deleted {
			diffs = append(diffs, fmt.Sprintf("step %d, %s: %s, predicted %s", step.Number, ch.Object, countsString(observed), countsString(predicted)))
		}
	}
	return progress, diffs
}

// takeUnattributed returns the changes no step explains, once.
func (t *tracker) takeUnattributed() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.unattributed
	t.unattributed = nil
	return out
}

func countsString(c planner.MachineCounts) string {
	return fmt.Sprintf("%d new, %d in place, %d deleted", c.Created, c.UpdatedInPlace, c.Deleted)
}
