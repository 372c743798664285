package upgrade

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runtimecatalog "sigs.k8s.io/cluster-api/api/runtime/catalog"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"

	"github.com/capi-planner/capi-planner/internal/planfile"
	"github.com/capi-planner/capi-planner/planner"
)

// Options configure a run of apply on one Cluster of a saved plan.
type Options struct {
	// Plan is the saved plan, Digest its digest (planfile.SavedPlan.Digest).
	Plan   *planfile.SavedPlan
	Digest string
	// Cluster selects the Cluster of the plan.
	Cluster planner.ObjectRef

	// Config, Client, Mapper and Scheme reach the management cluster.
	Config *rest.Config
	Client client.Client
	Mapper meta.RESTMapper
	Scheme *runtime.Scheme
	// Replan reads the cluster again and plans the Cluster with the saved
	// plan's options.
	Replan func(ctx context.Context) (*Replanned, error)

	// Until, when set, stops after the last step to that version.
	Until string
	// DryRun: client prints the writes; server sends the next ones with dryRun=All.
	DryRun DryRun
	// SkipPreflight are the gates to skip (blockers and findings only).
	SkipPreflight []planner.RuleID
	// StepTimeout ends the wait for one step (0: no limit).
	StepTimeout time.Duration
	// StallAfter is how long a step may show no progress before apply says why.
	StallAfter time.Duration
	// Holder names this run in the Lease (user, host, process).
	Holder string
	// HolderGone, when set, tells whether another holder has surely stopped
	// (a process of this machine that no longer runs): its lock is taken over
	// without waiting for it to expire.
	HolderGone func(holder string) bool
	// LeaseDuration is how long the lock outlives its last renewal.
	LeaseDuration time.Duration

	Events EventSink
	Now    func() time.Time
}

// UntilNotPlannedError is an Options.Until that no step of the plan goes to.
type UntilNotPlannedError struct {
	Until string
	// Versions are the versions the plan's steps go to.
	Versions []string
}

func (e *UntilNotPlannedError) Error() string {
	return fmt.Sprintf("no step of the plan goes to %s (its steps go to %s)", e.Until, strings.Join(e.Versions, ", "))
}

// TimeoutError ends the wait for a step after --timeout; the upgrade goes on.
type TimeoutError struct {
	Step    int
	After   time.Duration
	Reasons []string
}

func (e *TimeoutError) Error() string {
	why := ""
	if len(e.Reasons) > 0 {
		why = " (" + strings.Join(e.Reasons, "; ") + ")"
	}
	return fmt.Sprintf("step %d was not done after %s%s; the upgrade goes on in the cluster: run the same apply again to follow it (it continues where it stands)", e.Step, e.After, why)
}

// run is one apply.
type run struct {
	o      Options
	plan   *planner.ClusterPlan
	inputs *planfile.ClusterInputs
	cpRef  planner.ObjectRef
	writes []Write
	lock   *lock
	record Progress
	watch  *watcher
	track  *tracker
	// unwatchedThrough is the last step that ran, at least in part, before
	// this run watched (a resumed run); 0 when it watched everything.
	unwatchedThrough int
	queueMu          sync.Mutex
	queue            []Event
}

// Run applies the saved plan to the Cluster and follows it to the end (or to
// --until), or stops with an error that says why and how to go on.
func Run(ctx context.Context, o Options) (err error) {
	r := &run{o: o}
	for i := range o.Plan.Plan.Clusters {
		if o.Plan.Plan.Clusters[i].Cluster == o.Cluster {
			r.plan = &o.Plan.Plan.Clusters[i]
		}
	}
	if r.plan == nil {
		return fmt.Errorf("the saved plan has no Cluster %s/%s", o.Cluster.Namespace, o.Cluster.Name)
	}
	if r.plan.ControlPlane != nil {
		r.cpRef = *r.plan.ControlPlane
	}
	r.inputs = o.Plan.InputsOf(o.Cluster)
	switch r.plan.Status {
	case planner.StatusRejected, planner.StatusNeedsInput:
		return fmt.Errorf("the saved plan of Cluster %s/%s is %s: there is nothing to apply (see its rejections)", o.Cluster.Namespace, o.Cluster.Name, r.plan.Status)
	}
	r.writes = Writes(r.plan, r.groupOf)
	if o.Until != "" && untilStep(r.plan, o.Until) == 0 {
		return &UntilNotPlannedError{Until: o.Until, Versions: stepVersions(r.plan)}
	}
	if o.DryRun == DryRunClient {
		for _, w := range r.writes {
			r.emit(Event{Type: EventWrite, Step: w.Step, Object: &w.Patch.Object, Write: &w.Patch, DryRun: string(DryRunClient)})
		}
		r.emit(Event{Type: EventCompleted, Message: fmt.Sprintf("%d writes (dry run: nothing was sent)", len(r.writes))})
		return nil
	}
	if o.DryRun == DryRunServer {
		return r.dryRunServer(ctx)
	}
	return r.apply(ctx)
}

func (r *run) emit(e Event) {
	e.APIVersion, e.Kind, e.Time, e.Cluster = EventAPIVersion, EventKind, r.o.Now(), r.o.Cluster
	r.o.Events.Event(e)
}

// enqueue keeps an event of a watch goroutine for the main loop to emit, in order.
func (r *run) enqueue(e Event) {
	r.queueMu.Lock()
	r.queue = append(r.queue, e)
	r.queueMu.Unlock()
}

func (r *run) flush() {
	r.queueMu.Lock()
	q := r.queue
	r.queue = nil
	r.queueMu.Unlock()
	for _, e := range q {
		r.emit(e)
	}
}

// groupOf finds an object's API group in the plan's inputs.
func (r *run) groupOf(ref planner.ObjectRef) string {
	for _, o := range r.inputs.Objects {
		if o.Kind == ref.Kind && o.Namespace == ref.Namespace && o.Name == ref.Name {
			return o.Group
		}
	}
	return ""
}

// replan plans again, through transient API errors.
func (r *run) replan(ctx context.Context) (*Replanned, error) {
	var out *Replanned
	err := retryTransient(ctx, func() error {
		var err error
		out, err = r.o.Replan(ctx)
		return err
	})
	return out, err
}

func (r *run) gvk(ctx context.Context, w Write) (schema.GroupVersionKind, error) {
	var m *meta.RESTMapping
	err := retryTransient(ctx, func() error {
		var err error
		m, err = r.o.Mapper.RESTMapping(schema.GroupKind{Group: w.Group, Kind: w.Patch.Object.Kind})
		return err
	})
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("%s: %w", w.Patch.Object, err)
	}
	return m.GroupVersionKind, nil
}

// dryRunServer checks the plan as a first run would, then sends the writes
// that can be made now (those of the first step still to write) with
// dryRun=All, through the real admission webhooks. Later writes are checked
// against objects that earlier steps will have changed, so they are listed,
// not sent.
func (r *run) dryRunServer(ctx context.Context) error {
	now, err := r.replan(ctx)
	if err != nil {
		return err
	}
	if err := checkStale(r.o.Plan, r.plan, now); err != nil {
		return err
	}
	if err := r.checkGates(now); err != nil {
		return err
	}
	first := -1
	for _, w := range r.writes {
		if first != -1 && w.Step != first {
			r.emit(Event{Type: EventWrite, Step: w.Step, Object: &w.Patch.Object, Write: &w.Patch, DryRun: string(DryRunClient),
				Message: "not sent: the server checks it against the objects the earlier steps change"})
			continue
		}
		gvk, err := r.gvk(ctx, w)
		if err != nil {
			return err
		}
		outcome, err := write(ctx, r.o.Client, w, gvk, DryRunServer, nil)
		if err != nil {
			return err
		}
		if outcome == AlreadyDone {
			r.emit(Event{Type: EventWriteDone, Step: w.Step, Object: &w.Patch.Object, Write: &w.Patch})
			continue
		}
		first = w.Step
		r.emit(Event{Type: EventWrite, Step: w.Step, Object: &w.Patch.Object, Write: &w.Patch, DryRun: string(DryRunServer),
			Message: "the API server and its admission webhooks accept it"})
	}
	r.emit(Event{Type: EventCompleted, Message: "dry run: nothing was written"})
	return nil
}

func (r *run) checkGates(now *Replanned) error {
	failed, skipped, err := gates(&now.Plan, r.o.SkipPreflight)
	if err != nil {
		return err
	}
	for _, g := range skipped {
		r.emit(Event{Type: EventOverride, Rule: g.Rule, Message: "skipped with --skip-preflight: " + g.Message})
	}
	if len(failed) > 0 {
		return &GateError{Failed: failed}
	}
	return nil
}

func (r *run) apply(ctx context.Context) (err error) {
	now := r.o.Now
	lk, record, err := acquire(ctx, r.o.Client, r.o.Cluster, r.o.Holder, r.o.LeaseDuration, now, r.o.HolderGone)
	if err != nil {
		return err
	}
	r.lock = lk
	r.emit(Event{Type: EventLocked, Object: &planner.ObjectRef{Kind: "Lease", Namespace: r.o.Cluster.Namespace, Name: LeaseName(r.o.Cluster.Name)}, Message: "held by " + r.o.Holder})
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		if err := lk.renew(ctx); err != nil {
			cancel(err)
		}
	}()
	phase := PhaseStopped
	defer func() {
		if rerr := lk.release(phase); rerr != nil && err == nil {
			err = fmt.Errorf("releasing the lock: %w", rerr)
		}
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				var lost *LostError
				if errors.As(cause, &lost) {
					err = cause
				}
			}
			r.emit(Event{Type: EventStopped, Message: err.Error(), Reasons: reasonsOf(err)})
		}
	}()

	resuming, err := r.resuming(ctx, record)
	if err != nil {
		return err
	}
	if resuming {
		r.record = record
		r.emit(Event{Type: EventResumed, Message: fmt.Sprintf("this plan was being applied (%s, %d writes made): continuing from where the cluster stands", record.Phase, len(record.Writes))})
	} else {
		r.record = Progress{Plan: r.o.Digest}
		now, err := r.replan(ctx)
		if err != nil {
			return err
		}
		if err := checkStale(r.o.Plan, r.plan, now); err != nil {
			return err
		}
		r.emit(Event{Type: EventPreflight, Message: "the cluster is as planned: no input changed and the plan made again is the same"})
	}
	r.record.Phase = PhaseApplying
	if err := lk.record(ctx, r.record); err != nil {
		return err
	}

	r.track = newTracker(r.plan, r.cpRef, r.inputs.Objects, r.enqueue)
	cpGVK, err := r.gvk(ctx, Write{Group: r.groupOf(r.cpRef), Patch: planner.Patch{Object: r.cpRef}})
	if err != nil {
		return err
	}
	r.watch, err = startWatch(ctx, r.o.Config, r.o.Scheme, r.o.Mapper, r.o.Cluster, cpGVK, r.cpRef.Name, r.track.handler())
	if err != nil {
		return err
	}
	r.track.listedAll()
	if resuming {
		// Steps that ran, wholly or in part, while no apply was watching are
		// counted from the state: a Machine replaced twice meanwhile counts
		// once. They are reported, not compared.
		v, err := r.watch.read(ctx)
		if err != nil {
			return err
		}
		for _, s := range r.plan.Steps {
			if done, _ := stepDone(v, s, r.cpRef); !done {
				started, err := r.stepStarted(ctx, s)
				if err != nil {
					return err
				}
				if started {
					r.unwatchedThrough = s.Number
				}
				break
			}
			r.unwatchedThrough = s.Number
		}
	}

	last := len(r.plan.Steps)
	if r.o.Until != "" {
		last = untilStep(r.plan, r.o.Until)
	}
	var differences []string
	pace := newPacing()
	for i, step := range r.plan.Steps[:last] {
		start := r.o.Now()
		r.emit(Event{Type: EventStepStarted, Step: step.Number, Message: stepTitle(step)})
		if err := r.writeStep(ctx, step); err != nil {
			return err
		}
		if err := r.waitFor(ctx, step, func(v *view) (bool, []string) { return stepDone(v, step, r.cpRef) }); err != nil {
			return err
		}
		r.flush()
		progress, diffs := r.track.compare(step)
		msg := ""
		if step.Number <= r.unwatchedThrough {
			diffs, msg = nil, "counted in part from the state (no apply was watching all along): not compared with the prediction"
		}
		differences = append(differences, diffs...)
		done := Event{Type: EventStepDone, Step: step.Number, Progress: progress, Differences: diffs, Message: msg, Estimated: step.Duration}
		if step.Number > r.unwatchedThrough {
			took := r.o.Now().Sub(start)
			pace.observe(step, took)
			done.TookSeconds = ptr.To(int64(took.Round(time.Second) / time.Second))
		}
		done.Remaining = pace.remaining(r.plan.Steps[i+1 : last])
		r.emit(done)
	}
	r.flush()
	differences = append(differences, r.track.takeUnattributed()...)
	phase = PhaseCompleted
	if last < len(r.plan.Steps) {
		phase = PhaseStopped
	}
	r.record.Phase = phase
	if err := lk.record(ctx, r.record); err != nil {
		return err
	}
	msg := "the prediction held"
	if r.unwatchedThrough > 0 {
		msg = fmt.Sprintf("the prediction held for the steps this run watched from their start (steps up to %d ran, in part, unwatched: not compared)", r.unwatchedThrough)
	}
	if len(differences) > 0 {
		msg = fmt.Sprintf("done, but %d differences from the prediction", len(differences))
	}
	if last < len(r.plan.Steps) {
		msg = fmt.Sprintf("stopped after step %d (--until %s); %s", r.plan.Steps[last-1].Number, r.o.Until, msg)
	}
	r.emit(Event{Type: EventCompleted, Message: msg, Differences: differences})
	return nil
}

// resuming reports whether this run continues an earlier run of the same
// plan that got as far as a write: the record says so, or a write of the plan
// is found made (a run killed between its write and its record). Until then
// the plan must still pass the full preflight: the cluster has not moved.
func (r *run) resuming(ctx context.Context, record Progress) (bool, error) {
	if record.Plan != r.o.Digest {
		return false, nil
	}
	if len(record.Writes) > 0 {
		return true, nil
	}
	for _, w := range r.writes {
		if made, err := r.foundMade(ctx, w); err != nil || made {
			return made, err
		}
	}
	return false, nil
}

// foundMade reports whether the object already holds the write's value, or a
// later write's of the plan: a run of this plan made it.
func (r *run) foundMade(ctx context.Context, w Write) (bool, error) {
	gvk, err := r.gvk(ctx, w)
	if err != nil {
		return false, err
	}
	return written(ctx, r.o.Client, w, gvk, r.laterValues(w))
}

// stepStarted reports whether a step that is not done may have started: it
// has no write of its own (it follows the step before it), or one of its
// writes is recorded or found made. A step whose writes are all still to
// make (a run stopped by --until before it) has not.
func (r *run) stepStarted(ctx context.Context, step planner.Step) (bool, error) {
	own := false
	for _, w := range r.writes {
		if w.Step != step.Number {
			continue
		}
		own = true
		if r.record.done(w) {
			return true, nil
		}
		if made, err := r.foundMade(ctx, w); err != nil || made {
			return made, err
		}
	}
	return !own, nil
}

// writeStep makes the step's writes, wave by wave: before each wave it
// checks the gates against a plan made again now and the invariants against
// the objects; after it, it waits for the wave to land.
func (r *run) writeStep(ctx context.Context, step planner.Step) error {
	var waves [][]Write
	for _, w := range r.writes {
		if w.Step != step.Number {
			continue
		}
		if n := len(waves); n == 0 || waves[n-1][0].Wave != w.Wave {
			waves = append(waves, nil)
		}
		waves[len(waves)-1] = append(waves[len(waves)-1], w)
	}
	for i, wave := range waves {
		// A wave recorded as written is not written again, but it must
		// still land before the next one starts.
		if !r.allDone(wave) {
			if err := r.writeWave(ctx, step, wave); err != nil {
				return err
			}
		}
		if i < len(waves)-1 {
			objs := map[planner.ObjectRef]bool{}
			for _, w := range wave {
				objs[w.Patch.Object] = true
			}
			sub := planner.Step{Number: step.Number}
			for _, ch := range step.Changes {
				if objs[ch.Object] {
					sub.Changes = append(sub.Changes, ch)
				}
			}
			if err := r.waitFor(ctx, step, func(v *view) (bool, []string) { return stepDone(v, sub, r.cpRef) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeWave makes a wave's writes. A topology version write waits first for
// the topology controller to finish the previous upgrade (see
// previousUpgradeFinished): until its AfterClusterUpgrade hook is done, CAPI's
// Cluster webhook refuses the write, and a write that slips in while the
// controller still tracks that upgrade would skip BeforeClusterUpgrade. A
// gate or webhook that still sees the hook pending sends apply back to
// waiting, within the step's --timeout.
func (r *run) writeWave(ctx context.Context, step planner.Step, wave []Write) error {
	if wave[0].Patch.Field != topologyVersionField {
		return r.tryWave(ctx, step, wave)
	}
	start := r.o.Now()
	for {
		if err := r.waitFor(ctx, step, previousUpgradeFinished); err != nil {
			return err
		}
		err := r.tryWave(ctx, step, wave)
		if !afterClusterUpgradeStillPending(err) || (r.o.StepTimeout > 0 && r.o.Now().Sub(start) >= r.o.StepTimeout) {
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-r.watch.changed:
		case <-time.After(time.Second):
		}
	}
}

// afterClusterUpgradeStillPending reports whether err only says that the
// previous upgrade's AfterClusterUpgrade hook is pending: the plan made again
// rejects the write for that alone, or CAPI's Cluster webhook refused it
// with its words for it (core/webhooks/admission/cluster.go).
func afterClusterUpgradeStillPending(err error) bool {
	var gate *GateError
	if errors.As(err, &gate) {
		for _, g := range gate.Failed {
			if g.Rule != planner.RuleAfterClusterUpgrade {
				return false
			}
		}
		return len(gate.Failed) > 0
	}
	var rejected *RejectedError
	return errors.As(err, &rejected) && strings.Contains(apiMessage(rejected.Err), fmt.Sprintf("the %q hook is still blocking", runtimecatalog.HookName(runtimehooksv1.AfterClusterUpgrade)))
}

// tryWave checks that nobody else changed the wave's fields, then (for a
// wave not started yet) the gates against a plan made again now and the
// invariants against the objects, and makes the writes.
func (r *run) tryWave(ctx context.Context, step planner.Step, wave []Write) error {
	started := false
	for _, w := range wave {
		gvk, err := r.gvk(ctx, w)
		if err != nil {
			return err
		}
		made, err := precheck(ctx, r.o.Client, w, gvk, r.laterValues(w))
		if err != nil {
			return err
		}
		started = started || made || r.record.done(w)
	}
	// A wave an earlier run started passed the gates then; planned again now,
	// its own rollout would read as someone else's.
	if !started {
		now, err := r.replan(ctx)
		if err != nil {
			return err
		}
		if err := r.checkGates(now); err != nil {
			return err
		}
	}
	v, err := r.watch.read(ctx)
	if err != nil {
		return err
	}
	for _, w := range wave {
		// A chained topology upgrade's one write is its target: CAPI's own
		// controllers keep the invariants along the chain.
		if r.plan.Trigger == nil && !r.record.done(w) {
			movesControlPlane := w.Patch.Object == r.cpRef || w.Patch.Field == topologyVersionField
			if err := CheckInvariants(w, movesControlPlane, versionsOf(v)); err != nil {
				return err
			}
		}
		if err := r.makeWrite(ctx, w); err != nil {
			return err
		}
		// Interrupted: the write made is recorded; no other one starts.
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
	}
	return nil
}

// allDone reports whether the progress record has every write of the wave.
func (r *run) allDone(wave []Write) bool {
	for _, w := range wave {
		if !r.record.done(w) {
			return false
		}
	}
	return true
}

// makeWrite makes one write and records it. Neither the write nor its record
// is interrupted by Ctrl-C: they finish (or fail), then apply stops. Each has
// a bound of its own, so that retries of the write through a failing API
// server do not leave the record without time.
func (r *run) makeWrite(ctx context.Context, w Write) error {
	gvk, err := r.gvk(ctx, w)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeBound)
	outcome, err := write(wctx, r.o.Client, w, gvk, DryRunNone, r.laterValues(w))
	cancel()
	if err != nil {
		return err
	}
	typ := EventWrite
	if outcome == AlreadyDone {
		typ = EventWriteDone
	}
	r.emit(Event{Type: typ, Step: w.Step, Object: &w.Patch.Object, Write: &w.Patch})
	if !r.record.done(w) {
		r.record.Writes = append(r.record.Writes, w.ID())
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeBound)
	defer cancel()
	if err := r.lock.record(rctx, r.record); err != nil {
		return fmt.Errorf("%s %s was set to %s, but recording it in the Lease failed (run apply again: it finds the write made and goes on): %w", w.Patch.Object, w.Patch.Field, w.Patch.To, err)
	}
	return nil
}

// writeBound bounds one write, or one record of it, with its retries.
const writeBound = 30 * time.Second

// laterValues are the values later writes of the plan give the same field:
// a field found at one of them was written by an earlier run of this plan.
func (r *run) laterValues(w Write) []string {
	var out []string
	after := false
	for _, o := range r.writes {
		if o.ID() == w.ID() {
			after = true
			continue
		}
		if after && o.Patch.Object == w.Patch.Object && o.Patch.Field == w.Patch.Field {
			out = append(out, o.Patch.To)
		}
	}
	return out
}

// waitFor follows the watches until done says the step (or wave) is done. When
// what is pending has not changed for StallAfter, it says why (stallWatch);
// after StepTimeout it gives up with a *TimeoutError.
func (r *run) waitFor(ctx context.Context, step planner.Step, done func(*view) (bool, []string)) error {
	start := r.o.Now()
	stall := stallWatch{after: r.o.StallAfter, lastMove: start}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		r.flush()
		v, err := r.watch.read(ctx)
		if err != nil {
			return err
		}
		ok, pending := done(v)
		if ok {
			return nil
		}
		if reasons, still, say := stall.observe(r.o.Now(), pending, func() []string { return whyStalled(v, pending) }); say {
			r.emit(Event{Type: EventStalled, Step: step.Number, Reasons: reasons,
				Message: fmt.Sprintf("nothing has moved for %s", still.Round(time.Second))})
		}
		if r.o.StepTimeout > 0 && r.o.Now().Sub(start) >= r.o.StepTimeout {
			return &TimeoutError{Step: step.Number, After: r.o.StepTimeout, Reasons: whyStalled(v, pending)}
		}
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); cause != nil {
				return cause
			}
			return ctx.Err()
		case <-r.watch.changed:
		case <-tick.C:
		}
	}
}

// versionsOf reads where the control plane and workers stand.
func versionsOf(v *view) Versions {
	out := Versions{Workers: map[planner.ObjectRef]string{}}
	spec, _, _ := unstructured.NestedString(v.controlPlane.Object, "spec", "version")
	if controlPlaneAt(v, spec) == "" {
		out.ControlPlane = spec
	}
	for _, md := range v.mds {
		out.Workers[planner.ObjectRef{Kind: "MachineDeployment", Namespace: md.Namespace, Name: md.Name}] = md.Spec.Template.Spec.Version
	}
	for _, mp := range v.mps {
		out.Workers[planner.ObjectRef{Kind: "MachinePool", Namespace: mp.Namespace, Name: mp.Name}] = mp.Spec.Template.Spec.Version
	}
	return out
}

func stepTitle(s planner.Step) string {
	objects := "objects"
	if len(s.Changes) == 1 {
		objects = "object"
	}
	return fmt.Sprintf("%s to %s (%d %s)", s.Kind, s.Version, len(s.Changes), objects)
}

// untilStep is how many steps run with --until version: up to the last step
// to that version; 0 when none goes to it.
func untilStep(p *planner.ClusterPlan, version string) int {
	n := 0
	for i, s := range p.Steps {
		if s.Version == version {
			n = i + 1
		}
	}
	return n
}

func stepVersions(p *planner.ClusterPlan) []string {
	var vs []string
	for _, s := range p.Steps {
		if !slices.Contains(vs, s.Version) {
			vs = append(vs, s.Version)
		}
	}
	return vs
}

func reasonsOf(err error) []string {
	var t *TimeoutError
	if errors.As(err, &t) {
		return t.Reasons
	}
	return nil
}
