package progress

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

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
	mu    sync.Mutex
	p     *mpb.Progress
	out   io.Writer
	steps *mpb.Bar
	last  []string
	plan  *planner.ClusterPlan
	bars  map[barKey]*objectBar
	// left is what the last StepDone estimated for the steps left ("" for
	// nothing): read by the steps' bar decorator from mpb's goroutine.
	left atomic.Value
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

// NewBars returns a sink drawing bars on w, a terminal, for the Cluster's plan:
// one for the steps, and one per step and object as the step starts.
func NewBars(w io.Writer, plan *planner.ClusterPlan) *Bars {
	p := mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithAutoRefresh(), mpb.WithRefreshRate(refreshRate))
	// The steps' bar ends only with Close: mpb stops drawing (and printing the
	// lines above the bars) once every bar is complete.
	b := &Bars{p: p, out: w, plan: plan, bars: map[barKey]*objectBar{}}
	b.left.Store("")
	b.steps = p.AddBar(int64(len(plan.Steps)), mpb.BarPriority(-1),
		mpb.PrependDecorators(decor.Name("steps", decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.CountersNoUnit("%d/%d done"), decor.Any(func(decor.Statistics) string { return b.left.Load().(string) })))
	return b
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
		b.steps.Increment()
		left := ""
		if e.Remaining != nil {
			left = fmt.Sprintf(", %s left", e.Remaining)
		}
		b.left.Store(left)
		for k, ob := range b.bars {
			if k.step == e.Step {
				ob.bar.SetTotal(-1, true)
			}
		}
	}
	line := fmt.Sprintf("%s %s\n", e.Time.Format("15:04:05"), Describe(e))
	// The run's last word goes below the bars, once they are drawn for good.
	if e.Type == upgrade.EventCompleted {
		b.last = append(b.last, line)
		return
	}
	if _, err := io.WriteString(b.p, line); err != nil {
		_, _ = io.WriteString(b.out, line)
	}
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

// refreshRate is how often mpb redraws; the lines written between two draws
// are printed at the second.
const refreshRate = 100 * time.Millisecond

// Close finishes the bars. It first lets mpb draw twice more: lines written
// just before would be lost if the last bar completed before they were drawn.
func (b *Bars) Close() {
	time.Sleep(2*refreshRate + refreshRate/2)
	b.mu.Lock()
	b.steps.SetTotal(-1, true)
	for _, ob := range b.bars {
		if !ob.bar.Completed() {
			ob.bar.Abort(false)
		}
	}
	b.mu.Unlock()
	b.p.Wait()
	for _, line := range b.last {
		_, _ = io.WriteString(b.out, line)
	}
}
