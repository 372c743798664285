package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/upgrade"
)

func TestLines(t *testing.T) {
	at := time.Date(2026, 12, 1, 17, 4, 9, 0, time.UTC)
	cp := planner.ObjectRef{Kind: "KubeadmControlPlane", Namespace: "demo", Name: "cp"}
	var out bytes.Buffer
	l := NewLines(&out)
	for _, e := range []upgrade.Event{
		{Type: upgrade.EventWrite, Step: 1, Write: &planner.Patch{Object: cp, Field: "spec.version", From: "v1.33.4", To: "v1.34.3"}},
		{Type: upgrade.EventWrite, Step: 1, DryRun: "client", Write: &planner.Patch{Object: cp, Field: "spec.version", From: "v1.33.4", To: "v1.34.3"}},
		{Type: upgrade.EventWriteDone, Step: 1, Write: &planner.Patch{Object: cp, Field: "spec.version", From: "v1.33.4", To: "v1.34.3"}},
		{Type: upgrade.EventMachine, Step: 1, Object: &cp, Machine: &planner.ObjectRef{Name: "m"}, Change: upgrade.MachineInPlace, Version: "v1.34.3"},
		{Type: upgrade.EventStalled, Step: 1, Message: "nothing has moved for 2m0s", Reasons: []string{"Cluster: Following hooks are blocking upgrade: BeforeClusterUpgrade"}},
		{Type: upgrade.EventStepDone, Step: 1, Progress: []upgrade.ObjectProgress{{Object: cp, Observed: planner.MachineCounts{Created: 1}, Predicted: planner.MachineCounts{Created: 1}}}},
		{Type: upgrade.EventStepDone, Step: 2, TookSeconds: ptr.To[int64](95), Estimated: &planner.Estimate{Seconds: 62}, Remaining: &planner.Estimate{Seconds: 200}},
		{Type: upgrade.EventStopped, Message: "the command reports it"},
		{Type: upgrade.EventCompleted, Message: "the prediction held"},
	} {
		e.Time = at
		l.Event(e)
	}
	want := `17:04:09 step 1: set KubeadmControlPlane demo/cp spec.version v1.33.4 -> v1.34.3
17:04:09 step 1: would set KubeadmControlPlane demo/cp spec.version v1.33.4 -> v1.34.3
17:04:09 step 1: found already set: KubeadmControlPlane demo/cp spec.version v1.33.4 -> v1.34.3
17:04:09 step 1: Machine m updated in place (v1.34.3) of KubeadmControlPlane demo/cp
17:04:09 step 1: nothing has moved for 2m0s; why:
  - Cluster: Following hooks are blocking upgrade: BeforeClusterUpgrade
17:04:09 step 1: done
  KubeadmControlPlane demo/cp: 1 new, 0 in place, 0 deleted (predicted 1 new, 0 in place, 0 deleted)
17:04:09 step 2: done in 1m35s (estimated 1m2s); the steps left: about 3m
17:04:09 completed: the prediction held
`
	if got := out.String(); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out.String(), "the command reports it") {
		t.Error("a Stopped event is printed twice (the command reports the error)")
	}
}

// Bars print every event's line, the last one included, below the bars.
func TestBarsKeepEveryLine(t *testing.T) {
	cp := planner.ObjectRef{Kind: "KubeadmControlPlane", Namespace: "demo", Name: "cp"}
	plan := &planner.ClusterPlan{Steps: []planner.Step{{Number: 1, Changes: []planner.Change{{Object: cp,
		Prediction: &planner.Prediction{Counts: planner.MachineCounts{Created: 1, UpdatedInPlace: 2, Deleted: 1}}}}}}}
	var out syncBuffer
	b := NewBars(&out, plan)
	at := time.Date(2026, 12, 1, 17, 4, 9, 0, time.UTC)
	b.Event(upgrade.Event{Type: upgrade.EventStepStarted, Step: 1, Time: at, Message: "ControlPlane to v1.34.3 (1 object)"})
	for _, ch := range []upgrade.MachineChange{upgrade.MachineCreated, upgrade.MachineInPlace, upgrade.MachineInPlace, upgrade.MachineDeleted} {
		b.Event(upgrade.Event{Type: upgrade.EventMachine, Step: 1, Object: &cp, Machine: &planner.ObjectRef{Name: "m"}, Change: ch, Time: at})
	}
	b.Event(upgrade.Event{Type: upgrade.EventStepDone, Step: 1, Time: at, Remaining: &planner.Estimate{Seconds: 200}})
	b.Event(upgrade.Event{Type: upgrade.EventCompleted, Time: at, Message: "the prediction held"})
	// The steps' bar says what is left (mpb cuts it to the width of the
	// test's writer, so it is read where the bar's decorator reads it).
	if left := b.left.Load(); left != ", about 3m left" {
		t.Errorf("the steps' bar says %q is left", left)
	}
	b.Close()
	got := out.String()
	for _, want := range []string{"step 1: started", "step 1: done", "steps ", "step 1 KubeadmControlPlane cp"} {
		if !strings.Contains(got, want) {
			t.Errorf("the bars' output lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "17:04:09 completed: the prediction held\n") {
		t.Errorf("the last line is not the run's end:\n%s", got)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
