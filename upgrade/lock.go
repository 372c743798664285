package upgrade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capi-planner/capi-planner/planner"
)

// The Lease that locks a Cluster: one per Cluster, in its namespace, named
// after it. Its annotations are the progress record of the plan being applied.
const (
	leasePrefix = "capi-planner-"
	// AnnotationPlan is the digest of the saved plan being applied.
	AnnotationPlan = "capi-planner.io/plan"
	// AnnotationWrites lists the writes made so far (Write.ID), as JSON.
	AnnotationWrites = "capi-planner.io/writes"
	// AnnotationPhase is Applying, Stopped or Completed.
	AnnotationPhase = "capi-planner.io/phase"
)

// Phases of the progress record.
const (
	PhaseApplying  = "Applying"
	PhaseStopped   = "Stopped"
	PhaseCompleted = "Completed"
)

// LeaseName is the name of the Lease that locks a Cluster.
func LeaseName(cluster string) string { return leasePrefix + cluster }

// Progress is the record of a plan's run, kept on the Lease.
type Progress struct {
	Plan   string
	Writes []string
	Phase  string
}

// HeldError says who holds the lock.
type HeldError struct {
	Lease   string
	Holder  string
	Since   time.Time
	Renewed time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("the Cluster is locked: %s holds Lease %s since %s (renewed %s); wait for it to finish, or, if it is gone, for its lock to expire",
		e.Holder, e.Lease, e.Since.Format(time.RFC3339), e.Renewed.Format(time.RFC3339))
}

// LostError says the lock was lost while applying.
type LostError struct{ Reason string }

func (e *LostError) Error() string {
	return "lost the Cluster's lock (" + e.Reason + "): stopped; run apply again to continue"
}

// lock is a held Lease.
type lock struct {
	c        client.Client
	holder   string
	duration time.Duration
	now      func() time.Time

	mu    sync.Mutex
	lease *coordinationv1.Lease
	lost  error
}

// acquire takes the Cluster's Lease for holder, or returns a *HeldError. A
// Lease whose holder stopped renewing it for its duration is taken over.
// A holder that gone says is gone (a process of this machine that no longer
// runs) is taken over at once.
func acquire(ctx context.Context, c client.Client, cluster planner.ObjectRef, holder string, duration time.Duration, now func() time.Time, gone func(string) bool) (l *lock, p Progress, err error) {
	err = retryTransient(ctx, func() error {
		l, p, err = tryAcquire(ctx, c, cluster, holder, duration, now, gone)
		return err
	})
	return l, p, err
}

func tryAcquire(ctx context.Context, c client.Client, cluster planner.ObjectRef, holder string, duration time.Duration, now func() time.Time, gone func(string) bool) (*lock, Progress, error) {
	l := &lock{c: c, holder: holder, duration: duration, now: now}
	key := client.ObjectKey{Namespace: cluster.Namespace, Name: LeaseName(cluster.Name)}
	for {
		lease := &coordinationv1.Lease{}
		err := c.Get(ctx, key, lease)
		t := metav1.NewMicroTime(now())
		switch {
		case apierrors.IsNotFound(err):
			lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "capi-planner", "cluster.x-k8s.io/cluster-name": cluster.Name}},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: ptr.To(int32(duration / time.Second)),
					AcquireTime: &t, RenewTime: &t}}
			err = c.Create(ctx, lease)
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return nil, Progress{}, fmt.Errorf("creating Lease %s/%s: %w", key.Namespace, key.Name, err)
			}
			l.lease = lease
			return l, Progress{}, nil
		case err != nil:
			return nil, Progress{}, fmt.Errorf("reading Lease %s/%s: %w", key.Namespace, key.Name, err)
		}
		if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h != "" && h != holder && !expired(lease, now()) && (gone == nil || !gone(h)) {
			return nil, Progress{}, &HeldError{Lease: key.Namespace + "/" + key.Name, Holder: h, Since: microTime(lease.Spec.AcquireTime), Renewed: microTime(lease.Spec.RenewTime)}
		}
		lease.Spec.HolderIdentity = &holder
		lease.Spec.LeaseDurationSeconds = ptr.To(int32(duration / time.Second))
		lease.Spec.AcquireTime, lease.Spec.RenewTime = &t, &t
		lease.Spec.LeaseTransitions = ptr.To(ptr.Deref(lease.Spec.LeaseTransitions, 0) + 1)
		// The Update carries the resourceVersion read: two takers cannot both win.
		err = c.Update(ctx, lease)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, Progress{}, fmt.Errorf("taking Lease %s/%s: %w", key.Namespace, key.Name, err)
		}
		l.lease = lease
		return l, progressOf(lease), nil
	}
}

func expired(l *coordinationv1.Lease, now time.Time) bool {
	renewed := microTime(l.Spec.RenewTime)
	d := time.Duration(ptr.Deref(l.Spec.LeaseDurationSeconds, 0)) * time.Second
	return now.After(renewed.Add(d))
}

func microTime(t *metav1.MicroTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func progressOf(l *coordinationv1.Lease) Progress {
	p := Progress{Plan: l.Annotations[AnnotationPlan], Phase: l.Annotations[AnnotationPhase]}
	_ = json.Unmarshal([]byte(l.Annotations[AnnotationWrites]), &p.Writes)
	return p
}

// update changes the Lease with f and writes it, with its resourceVersion as
// precondition; a conflict means someone else took it: the lock is lost.
func (l *lock) update(ctx context.Context, f func(*coordinationv1.Lease)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	next := l.lease.DeepCopy()
	f(next)
	err := l.c.Update(ctx, next)
	if apierrors.IsConflict(err) {
		// Our last update may have landed with its answer lost on the way
		// back: the Lease still names us, at a newer resourceVersion.
		fresh := &coordinationv1.Lease{}
		if gerr := l.c.Get(ctx, client.ObjectKeyFromObject(l.lease), fresh); gerr == nil && ptr.Deref(fresh.Spec.HolderIdentity, "") == l.holder {
			l.lease = fresh
			next = fresh.DeepCopy()
			f(next)
			err = l.c.Update(ctx, next)
		}
	}
	switch {
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		l.lost = &LostError{Reason: "the Lease was changed by someone else: " + err.Error()}
		return l.lost
	case err != nil:
		if l.now().After(microTime(l.lease.Spec.RenewTime).Add(l.duration)) {
			l.lost = &LostError{Reason: "could not renew it for its whole duration: " + err.Error()}
			return l.lost
		}
		return err
	}
	l.lease = next
	return nil
}

// renew keeps the Lease until ctx ends, every third of its duration; it
// returns when the lock is lost.
func (l *lock) renew(ctx context.Context) error {
	tick := time.NewTicker(l.duration / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		// A failed renewal is tried again at once (with backoff), not at the
		// next tick: the lock must not expire over a few passing failures.
		err := retryTransient(ctx, func() error {
			return l.update(ctx, func(lease *coordinationv1.Lease) {
				t := metav1.NewMicroTime(l.now())
				lease.Spec.RenewTime = &t
			})
		})
		var lost *LostError
		if errors.As(err, &lost) {
			return err
		}
	}
}

// record writes the progress record.
func (l *lock) record(ctx context.Context, p Progress) error {
	writes, err := json.Marshal(p.Writes)
	if err != nil {
		return err
	}
	return retryTransient(ctx, func() error {
		return l.update(ctx, func(lease *coordinationv1.Lease) {
			if lease.Annotations == nil {
				lease.Annotations = map[string]string{}
			}
			lease.Annotations[AnnotationPlan] = p.Plan
			lease.Annotations[AnnotationWrites] = string(writes)
			lease.Annotations[AnnotationPhase] = p.Phase
		})
	})
}

// release gives the lock up and keeps the progress record, so that a rerun
// finds it. It runs after ctx may have ended, with a context of its own.
func (l *lock) release(phase string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := retryTransient(ctx, func() error {
		return l.update(ctx, func(lease *coordinationv1.Lease) {
			lease.Spec.HolderIdentity = nil
			if lease.Annotations == nil {
				lease.Annotations = map[string]string{}
			}
			lease.Annotations[AnnotationPhase] = phase
		})
	})
	// Lost now means released: by an earlier try whose answer was lost, or
	// taken by another run since.
	var lost *LostError
	if errors.As(err, &lost) {
		return nil
	}
	return err
}

// done reports whether the record says the write was made.
func (p Progress) done(w Write) bool { return slices.Contains(p.Writes, w.ID()) }
