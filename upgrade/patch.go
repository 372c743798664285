package upgrade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DryRun is apply's --dry-run.
type DryRun string

// DryRun values.
const (
	DryRunNone   DryRun = ""
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

// WriteOutcome says what a write did.
type WriteOutcome int

// WriteOutcome values.
const (
	// Written: the field was set now.
	Written WriteOutcome = iota
	// AlreadyDone: the field already had the new value (an earlier run set it,
	// or the answer to our own write was lost on the way back).
	AlreadyDone
)

// ConflictError is a write refused because someone else changed the field.
type ConflictError struct {
	Write Write
	Found string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %s is %q, neither %s (as planned) nor %s (written): someone else changed it; apply stopped without overwriting it; check who did, then plan again",
		e.Write.Patch.Object, e.Write.Patch.Field, e.Found, e.Write.Patch.From, e.Write.Patch.To)
}

// RejectedError is a write the API server refused, in its own words (an
// admission webhook's message, for example).
type RejectedError struct {
	Write  Write
	DryRun DryRun
	Err    error
}

func (e *RejectedError) Error() string {
	what := "refused"
	if e.DryRun == DryRunServer {
		what = "would refuse"
	}
	return fmt.Sprintf("the API server %s setting %s %s to %s: %s", what, e.Write.Patch.Object, e.Write.Patch.Field, e.Write.Patch.To, apiMessage(e.Err))
}

func (e *RejectedError) Unwrap() error { return e.Err }

// apiMessage is the server's own message of an API error.
func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message != "" {
		return status.Status().Message
	}
	return err.Error()
}

// transient reports errors worth another try: the server was busy, failed, or
// the connection broke. The write that follows reads the object again first,
// so retrying never repeats a write that landed.
func transient(err error) bool {
	if err == nil {
		return false
	}
	if apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsUnexpectedServerError(err) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code >= 500
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// Transport errors: resets, EOFs, timeouts, refused connections.
	var netErr net.Error
	return errors.As(err, &netErr) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) || utilnet.IsConnectionRefused(err)
}

// backoff spaces retries of transient errors: up to about a minute in all.
var backoff = wait.Backoff{Duration: 200 * time.Millisecond, Factor: 1.6, Jitter: 0.2, Steps: 14, Cap: 10 * time.Second}

// retryTransient runs f until it succeeds, fails for good, or ctx ends.
func retryTransient(ctx context.Context, f func() error) error {
	var last error
	err := retry.OnError(backoff, func(err error) bool { return transient(err) && ctx.Err() == nil }, func() error {
		last = f()
		return last
	})
	if err != nil && last != nil && ctx.Err() == nil {
		return last
	}
	return err
}

// write makes one write with a precondition. It reads the object, and:
// finds the new value already there (AlreadyDone); or finds the planned old
// value and patches it with the resourceVersion read as precondition; or finds
// a value later writes of the plan give (an earlier run got further: also
// AlreadyDone); or finds
// anything else and stops with a *ConflictError. A conflict on the
// resourceVersion (the controllers write status all the time) reads again.
func write(ctx context.Context, c client.Client, w Write, gvk schema.GroupVersionKind, dryRun DryRun, later []string) (WriteOutcome, error) {
	field := strings.Split(w.Patch.Field, ".")
	var outcome WriteOutcome
	err := retryTransient(ctx, func() error {
		for {
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(gvk)
			if err := c.Get(ctx, client.ObjectKey{Namespace: w.Patch.Object.Namespace, Name: w.Patch.Object.Name}, obj); err != nil {
				return err
			}
			cur, _, _ := unstructured.NestedString(obj.Object, field...)
			switch {
			case cur == w.Patch.To || slices.Contains(later, cur):
				outcome = AlreadyDone
				return nil
			case cur == w.Patch.From:
			default:
				return &ConflictError{Write: w, Found: cur}
			}
			patch := map[string]any{"metadata": map[string]any{"resourceVersion": obj.GetResourceVersion()}}
			leaf := patch
			for _, f := range field[:len(field)-1] {
				next := map[string]any{}
				leaf[f] = next
				leaf = next
			}
			leaf[field[len(field)-1]] = w.Patch.To
			data, err := json.Marshal(patch)
			if err != nil {
				return err
			}
			var opts []client.PatchOption
			if dryRun == DryRunServer {
				opts = append(opts, client.DryRunAll)
			}
			err = c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, data), append(opts, client.FieldOwner(FieldManager))...)
			switch {
			case apierrors.IsConflict(err):
				continue
			case err == nil:
				outcome = Written
				return nil
			case transient(err):
				return err
			default:
				return &RejectedError{Write: w, DryRun: dryRun, Err: err}
			}
		}
	})
	return outcome, err
}

// FieldManager is the field manager of apply's writes.
const FieldManager = "capi-planner"

// precheck stops before any write of a wave when someone else changed a
// field the wave writes: it is neither the planned old value nor one this
// plan writes. It reports whether the write is already made (see written).
func precheck(ctx context.Context, c client.Client, w Write, gvk schema.GroupVersionKind, later []string) (made bool, err error) {
	cur, err := current(ctx, c, w, gvk)
	if err != nil {
		return false, err
	}
	made = cur == w.Patch.To || slices.Contains(later, cur)
	if !made && cur != w.Patch.From {
		return false, &ConflictError{Write: w, Found: cur}
	}
	return made, nil
}

// current reads the field a write sets.
func current(ctx context.Context, c client.Client, w Write, gvk schema.GroupVersionKind) (string, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	err := retryTransient(ctx, func() error {
		return c.Get(ctx, client.ObjectKey{Namespace: w.Patch.Object.Namespace, Name: w.Patch.Object.Name}, obj)
	})
	if err != nil {
		return "", err
	}
	cur, _, _ := unstructured.NestedString(obj.Object, strings.Split(w.Patch.Field, ".")...)
	return cur, nil
}

// written reports whether the write is found made: its field at the new value,
// or at a value later writes give.
func written(ctx context.Context, c client.Client, w Write, gvk schema.GroupVersionKind, later []string) (bool, error) {
	cur, err := current(ctx, c, w, gvk)
	if err != nil {
		return false, err
	}
	return cur == w.Patch.To || slices.Contains(later, cur), nil
}
