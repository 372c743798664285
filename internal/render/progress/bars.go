package progress

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/upgrade"
)

// Bars shows live progress on a terminal: a bar per step and object, whose
// length is the Machines the prediction says it touches (created, updated in
// place, deleted), filled as the watch sees them; other events print above
// the bars.
type Bars struct {
	mu   sync.Mutex
	p    *mpb.Progress
	plan *planner.ClusterPlan
	bars map[barKey]*objectBar
}

type barKey struct {
	step   int
	object planner.ObjectRef
}

type objectBar struct {
	bar *mpb.Bar
	// The counts so far: atomic, as the bar's decorator reads them from mpb's goroutine.
	created, inPlace, deleted atomic.Int64
	predicted                 planner.MachineCounts
}

// NewBars returns a sink drawing bars on w, a terminal, for the Cluster's plan.
func NewBars(w io.Writer, plan *planner.ClusterPlan) *Bars {
	return &Bars{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32)), plan: plan, bars: map[barKey]*objectBar{}}
}

// Event updates the bars, or prints the event above them.
func (b *Bars) Event(e upgrade.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e.Type {
	case upgrade.EventStepStarted:
		b.startStep(e.Step)
	case upgrade.EventMachine:
		if e.Object == nil {
			break
		}
		ob := b.bars[barKey{e.Step, *e.Object}]
		if ob == nil {
			break
		}
		switch e.Change {
		case upgrade.MachineCreated:
			ob.created.Add(1)
		case upgrade.MachineInPlace:
			ob.inPlace.Add(1)
		case upgrade.MachineDeleted:
			ob.deleted.Add(1)
		}
		ob.bar.SetCurrent(ob.created.Load() + ob.inPlace.Load() + ob.deleted.Load())
		return
	case upgrade.EventStopped:
		// The command reports the error that stopped apply.
		return
	case upgrade.EventStepDone:
		for k, ob := range b.bars {
			if k.step == e.Step {
				ob.bar.SetTotal(-1, true)
			}
		}
	}
	fmt.Fprintf(b.p, "%s %s\n", e.Time.Format("15:04:05"), Describe(e))
}

func (b *Bars) startStep(n int) {
	for _, s := range b.plan.Steps {
		if s.Number != n {
			continue
		}
		for _, ch := range s.Changes {
			ob := &objectBar{}
			if ch.Prediction != nil {
				ob.predicted = ch.Prediction.Counts
			}
			total := int64(ob.predicted.Created + ob.predicted.UpdatedInPlace + ob.predicted.Deleted)
			name := fmt.Sprintf("step %d %s %s", n, ch.Object.Kind, ch.Object.Name)
			ob.bar = b.p.AddBar(max(total, 1),
				mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR)),
				mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
					return fmt.Sprintf("%d/%d new, %d/%d in place, %d/%d deleted",
						ob.created.Load(), ob.predicted.Created, ob.inPlace.Load(), ob.predicted.UpdatedInPlace, ob.deleted.Load(), ob.predicted.Deleted)
				})))
			b.bars[barKey{n, ch.Object}] = ob
		}
	}
}

// Close finishes the bars.
func (b *Bars) Close() {
	b.mu.Lock()
	for _, ob := range b.bars {
		if !ob.bar.Completed() {
			ob.bar.Abort(false)
		}
	}
	b.mu.Unlock()
	b.p.Wait()
}
