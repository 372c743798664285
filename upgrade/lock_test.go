package upgrade

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/capi-planner/capi-planner/planner"
)

func TestLock(t *testing.T) {
	ctx := context.Background()
	sch := runtime.NewScheme()
	if err := coordinationv1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(sch).Build()
	cluster := planner.ObjectRef{Kind: "Cluster", Namespace: "ns", Name: "web"}
	now := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	a, _, err := acquire(ctx, c, cluster, "alice@a/1", time.Minute, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.record(ctx, Progress{Plan: "digest", Writes: []string{"1/Cluster/web/v1.36.3"}, Phase: PhaseApplying}); err != nil {
		t.Fatal(err)
	}
	var held *HeldError
	if _, _, err := acquire(ctx, c, cluster, "bob@b/2", time.Minute, clock, nil); !errors.As(err, &held) || held.Holder != "alice@a/1" || !strings.Contains(err.Error(), "Lease ns/capi-planner-web") {
		t.Fatalf("a second holder: %v", err)
	}
	// alice's update landed but she never saw the answer: her copy is stale.
	lease := &coordinationv1.Lease{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "capi-planner-web"}, lease); err != nil {
		t.Fatal(err)
	}
	lease.Spec.LeaseTransitions = ptr.To(int32(7))
	if err := c.Update(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if err := a.record(ctx, Progress{Plan: "digest", Phase: PhaseApplying}); err != nil {
		t.Errorf("an update after one whose answer was lost: %v", err)
	}
	// A holder whose process is gone is taken over at once, with the record kept.
	gone := func(h string) bool { return h == "alice@a/1" }
	b, record, err := acquire(ctx, c, cluster, "bob@b/2", time.Minute, clock, gone)
	if err != nil || record.Plan != "digest" {
		t.Fatalf("taking over a gone holder: %v, record %+v", err, record)
	}
	if err := a.record(ctx, Progress{Plan: "x"}); err == nil {
		t.Error("the holder that lost the Lease can still write its record")
	}
	// An expired lock is taken over.
	now = now.Add(2 * time.Minute)
	if _, _, err := acquire(ctx, c, cluster, "carol@c/3", time.Minute, clock, nil); err != nil {
		t.Errorf("taking over an expired lock: %v", err)
	}
	if err := b.release(PhaseStopped); err != nil {
		t.Errorf("releasing a lock taken since: %v", err)
	}
}
