package realcapi

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/planner"
)

// movement counts what happened to the Machines of one object at one step:
// keyed by the step's object and versions, as the plan names them.
type movement struct {
	Created, InPlace, Deleted int
}

// stepKey names an object's move from one version to another.
type stepKey struct {
	Object   string // "KubeadmControlPlane web-control-plane", "MachineDeployment web-md-0-xyz"
	From, To string
}

func (k stepKey) String() string { return fmt.Sprintf("%s %s->%s", k.Object, k.From, k.To) }

// machineSeen is the last state of a Machine the observer saw.
type machineSeen struct {
	name     string
	owner    string
	version  string
	ready    bool
	deleting bool
}

// observer polls a namespace's Machines and records, per object and version,
// the Machines created, updated in place (spec.version changed) and deleted.
// Polling every half second misses nothing here: a Machine lives for seconds.
type observer struct {
	client    ctrlclient.Client
	namespace string
	// controlPlane is the KubeadmControlPlane's name.
	controlPlane string

	mu       sync.Mutex
	machines map[string]machineSeen // by UID
	created  map[string]map[string]int
	inPlace  map[string]map[[2]string]int
	deleted  map[string]map[string]int
	// first and last event times per object and target version.
	first, last map[string]time.Time
	// steps times each tracked change from its object's spec reaching the
	// change's version to the object at rest there.
	steps map[stepKey]*stepTimes
	// specs are each object's Machine specs (see machineSpecs) as of its last
	// change's start; specDiffs how they differ at each change's start.
	specs     map[string]map[string]any
	specDiffs map[stepKey][]string
	// timeline is what happened to each Machine, when (from the baseline):
	// created, Ready, deleting, gone, updated in place. It is logged beside
	// the durations, to show where a step's time goes.
	timeline []string
	since    time.Time
}

// stepTimes is when a change started (its object's spec at the version) and
// ended (the object at rest at it).
type stepTimes struct {
	kind, name, to string
	start, end     time.Time
}

func newObserver(c ctrlclient.Client, namespace, controlPlane string) *observer {
	return &observer{client: c, namespace: namespace, controlPlane: controlPlane, machines: map[string]machineSeen{},
		created: map[string]map[string]int{}, inPlace: map[string]map[[2]string]int{}, deleted: map[string]map[string]int{},
		first: map[string]time.Time{}, last: map[string]time.Time{}, steps: map[stepKey]*stepTimes{},
		specs: map[string]map[string]any{}, specDiffs: map[stepKey][]string{}}
}

// track times the plan's changes (see stepTimes) from now on.
func (o *observer) track(plan *planner.ClusterPlan) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			k := stepKey{ch.Object.Kind + " " + ch.Object.Name, ch.From, ch.To}
			o.steps[k] = &stepTimes{kind: ch.Object.Kind, name: ch.Object.Name, to: ch.To}
		}
	}
}

// timeSteps advances the tracked changes' times. Changes are timed one after
// the other: a later change of the same object starts only once the earlier ended.
func (o *observer) timeSteps(ctx context.Context) {
	type open struct {
		key     stepKey
		st      *stepTimes
		started bool
	}
	o.mu.Lock()
	var steps []open
	for k, st := range o.steps {
		if st.end.IsZero() {
			steps = append(steps, open{k, st, !st.start.IsZero()})
		}
	}
	o.mu.Unlock()
	for _, s := range steps {
		st := s.st
		version, err := o.specVersion(ctx, st.kind, st.name)
		if err != nil {
			continue
		}
		now := time.Now()
		if !s.started && version == st.to {
			o.mu.Lock()
			st.start = now
			o.mu.Unlock()
			s.started = true
			o.specsAtStart(ctx, st, s.key)
		}
		if !s.started {
			continue
		}
		// Done when at rest at the version, or when the controllers have already
		// moved the spec on to the next step (between two polls).
		done := version != st.to
		if !done {
			why, err := env.ObjectAt(ctx, st.kind, o.namespace, st.name, st.to)
			done = err == nil && why == ""
		}
		if done {
			o.mu.Lock()
			st.end = now
			o.mu.Unlock()
		}
	}
}

// specVersion is the version a KubeadmControlPlane's or MachineDeployment's spec asks for.
func (o *observer) specVersion(ctx context.Context, kind, name string) (string, error) {
	key := ctrlclient.ObjectKey{Namespace: o.namespace, Name: name}
	if kind == "KubeadmControlPlane" {
		kcp := &controlplanev1.KubeadmControlPlane{}
		err := o.client.Get(ctx, key, kcp)
		return kcp.Spec.Version, err
	}
	md := &clusterv1.MachineDeployment{}
	err := o.client.Get(ctx, key, md)
	return md.Spec.Template.Spec.Version, err
}

// stepDuration is how long a change took from its spec change to at rest, or 0.
func (o *observer) stepDuration(ch planner.Change) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.steps[stepKey{ch.Object.Kind + " " + ch.Object.Name, ch.From, ch.To}]
	if st == nil || st.start.IsZero() || st.end.IsZero() {
		return 0
	}
	return st.end.Sub(st.start)
}

// owner names the object a Machine belongs to, as the plan names it.
func (o *observer) owner(m *clusterv1.Machine) string {
	if _, ok := m.Labels[clusterv1.MachineControlPlaneLabel]; ok {
		return "KubeadmControlPlane " + o.controlPlane
	}
	if md := m.Labels[clusterv1.MachineDeploymentNameLabel]; md != "" {
		return "MachineDeployment " + md
	}
	return "Machine " + m.Name
}

// baseline records the Machines before the upgrade.
func (o *observer) baseline(ctx context.Context) error {
	list := &clusterv1.MachineList{}
	if err := o.client.List(ctx, list, ctrlclient.InNamespace(o.namespace)); err != nil {
		return err
	}
	for i := range list.Items {
		m := &list.Items[i]
		o.machines[string(m.UID)] = seenNow(o.owner(m), m)
	}
	o.since = time.Now()
	return nil
}

func seenNow(owner string, m *clusterv1.Machine) machineSeen {
	return machineSeen{name: m.Name, owner: owner, version: m.Spec.Version, deleting: !m.DeletionTimestamp.IsZero(),
		ready: meta.IsStatusConditionTrue(m.Status.Conditions, clusterv1.MachineReadyCondition)}
}

// note adds to the timeline.
func (o *observer) note(at time.Time, owner, machine, what string) {
	o.timeline = append(o.timeline, fmt.Sprintf("%6.1fs %s: Machine %s %s", at.Sub(o.since).Seconds(), owner, machine, what))
}

// poll records the differences since the last poll.
func (o *observer) poll(ctx context.Context) error {
	list := &clusterv1.MachineList{}
	if err := o.client.List(ctx, list, ctrlclient.InNamespace(o.namespace)); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	seen := map[string]bool{}
	for i := range list.Items {
		m := &list.Items[i]
		uid := string(m.UID)
		seen[uid] = true
		cur := seenNow(o.owner(m), m)
		prev, known := o.machines[uid]
		switch {
		case !known:
			o.note(now, cur.owner, m.Name, "created at "+cur.version)
		case cur.ready && !prev.ready:
			o.note(now, cur.owner, m.Name, "Ready")
		case cur.deleting && !prev.deleting:
			o.note(now, cur.owner, m.Name, "deleting")
		}
		switch {
		case !known:
			add(o.created, cur.owner, cur.version)
			o.mark(cur.owner, cur.version, now)
		case prev.version != cur.version:
			inner := o.inPlace[cur.owner]
			if inner == nil {
				inner = map[[2]string]int{}
				o.inPlace[cur.owner] = inner
			}
			inner[[2]string{prev.version, cur.version}]++
			o.mark(cur.owner, cur.version, now)
			o.note(now, cur.owner, m.Name, "updated in place to "+cur.version)
		}
		o.machines[uid] = cur
	}
	for uid, m := range o.machines {
		if !seen[uid] {
			o.note(now, m.owner, m.name, "gone")
			add(o.deleted, m.owner, m.version)
			o.mark(m.owner, "from "+m.version, now)
			delete(o.machines, uid)
		}
	}
	return nil
}

func add(m map[string]map[string]int, owner, version string) {
	if m[owner] == nil {
		m[owner] = map[string]int{}
	}
	m[owner][version]++
}

func (o *observer) mark(owner, version string, at time.Time) {
	k := owner + " " + version
	if _, ok := o.first[k]; !ok {
		o.first[k] = at
	}
	o.last[k] = at
}

// pollInterval is how often the observer lists the Machines.
const pollInterval = 500 * time.Millisecond

// run polls until ctx ends.
func (o *observer) run(ctx context.Context) {
	for {
		_ = o.poll(ctx)
		o.timeSteps(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollInterval):
		}
	}
}

// movements attributes what was observed to the plan's changes: a Machine
// created at version V to the change to V; one updated in place from A to B to
// the change from A to B; one deleted at version A to the change from A.
func (o *observer) movements(plan *planner.ClusterPlan) map[stepKey]movement {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[stepKey]movement{}
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			obj := ch.Object.Kind + " " + ch.Object.Name
			k := stepKey{obj, ch.From, ch.To}
			out[k] = movement{Created: o.created[obj][ch.To], InPlace: o.inPlace[obj][[2]string{ch.From, ch.To}], Deleted: o.deleted[obj][ch.From]}
		}
	}
	return out
}

// unattributed lists what was observed that no change of the plan explains.
func (o *observer) unattributed(plan *planner.ClusterPlan) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	to, from, moves := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			obj := ch.Object.Kind + " " + ch.Object.Name
			to[obj+" "+ch.To], from[obj+" "+ch.From], moves[obj+" "+ch.From+"->"+ch.To] = true, true, true
		}
	}
	var out []string
	for obj, vs := range o.created {
		for v, n := range vs {
			if !to[obj+" "+v] {
				out = append(out, fmt.Sprintf("%d Machines of %s created at %s", n, obj, v))
			}
		}
	}
	for obj, vs := range o.deleted {
		for v, n := range vs {
			if !from[obj+" "+v] {
				out = append(out, fmt.Sprintf("%d Machines of %s deleted at %s", n, obj, v))
			}
		}
	}
	for obj, vs := range o.inPlace {
		for v, n := range vs {
			if !moves[obj+" "+v[0]+"->"+v[1]] {
				out = append(out, fmt.Sprintf("%d Machines of %s updated in place %s->%s", n, obj, v[0], v[1]))
			}
		}
	}
	sort.Strings(out)
	return out
}

// span is the time of the first and the last Machine event of a change (zero
// times when nothing happened to its Machines).
func (o *observer) span(ch planner.Change) (start, end time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	obj := ch.Object.Kind + " " + ch.Object.Name
	for _, k := range []string{obj + " " + ch.To, obj + " from " + ch.From} {
		if t, ok := o.first[k]; ok && (start.IsZero() || t.Before(start)) {
			start = t
		}
		if t, ok := o.last[k]; ok && t.After(end) {
			end = t
		}
	}
	return start, end
}

// duration is the time from the first to the last Machine event of a change.
func (o *observer) duration(ch planner.Change) time.Duration {
	start, end := o.span(ch)
	return end.Sub(start)
}

// outOfOrder lists the steps whose Machines started to move before the previous
// step's had finished: the controllers run the steps one after the other.
func (o *observer) outOfOrder(plan *planner.ClusterPlan) []string {
	var out []string
	var prevEnd time.Time
	prev := 0
	for _, s := range plan.Steps {
		var start, end time.Time
		for _, ch := range s.Changes {
			a, b := o.span(ch)
			if !a.IsZero() && (start.IsZero() || a.Before(start)) {
				start = a
			}
			if b.After(end) {
				end = b
			}
		}
		if start.IsZero() {
			continue
		}
		// One poll of slack: events are stamped when the observer sees them.
		if !prevEnd.IsZero() && start.Before(prevEnd.Add(-pollInterval)) {
			out = append(out, fmt.Sprintf("step %d started %s before step %d ended", s.Number, prevEnd.Sub(start).Round(time.Second), prev))
		}
		prevEnd, prev = end, s.Number
	}
	return out
}

// predicted is the plan's prediction in the observer's terms.
func predicted(plan *planner.ClusterPlan) map[stepKey]movement {
	out := map[stepKey]movement{}
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			k := stepKey{ch.Object.Kind + " " + ch.Object.Name, ch.From, ch.To}
			if p := ch.Prediction; p != nil {
				out[k] = movement{Created: p.Counts.Created, InPlace: p.Counts.UpdatedInPlace, Deleted: p.Counts.Deleted}
			}
		}
	}
	return out
}

// diff lists every difference between prediction and observation.
func diff(want, got map[stepKey]movement) []string {
	var out []string
	for k, w := range want {
		if g := got[k]; g != w {
			out = append(out, fmt.Sprintf("%s: predicted %d new, %d in place, %d deleted; observed %d, %d, %d", k, w.Created, w.InPlace, w.Deleted, g.Created, g.InPlace, g.Deleted))
		}
	}
	sort.Strings(out)
	return out
}

func describe(m map[stepKey]movement) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("  %s: %d new, %d in place, %d deleted", k, v.Created, v.InPlace, v.Deleted))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// atRest is when the observer saw every change of the step at rest (zero
// when it did not see them all).
func (o *observer) atRest(step planner.Step) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	var last time.Time
	for _, ch := range step.Changes {
		st := o.steps[stepKey{ch.Object.Kind + " " + ch.Object.Name, ch.From, ch.To}]
		if st == nil || st.end.IsZero() {
			return time.Time{}
		}
		if st.end.After(last) {
			last = st.end
		}
	}
	return last
}
