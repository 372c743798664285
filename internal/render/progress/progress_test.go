package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

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
17:04:09 completed: the prediction held
`
	if got := out.String(); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out.String(), "the command reports it") {
		t.Error("a Stopped event is printed twice (the command reports the error)")
	}
}
