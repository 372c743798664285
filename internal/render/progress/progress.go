// Package progress renders apply's events: a JSON object per line (-o json),
// a log line per event (a pipeline), or live progress bars (a terminal).
package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/upgrade"
)

// JSON writes each event as one JSON object per line.
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSON returns a sink writing JSON lines to w.
func NewJSON(w io.Writer) *JSON { return &JSON{enc: json.NewEncoder(w)} }

// Event writes the event.
func (j *JSON) Event(e upgrade.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(e)
}

// Lines writes one log line per event, for pipelines and logs.
type Lines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLines returns a sink writing a line per event to w.
func NewLines(w io.Writer) *Lines { return &Lines{w: w} }

// Event writes the event's line. A Stopped event is left out: the command
// reports the error that stopped apply.
func (l *Lines) Event(e upgrade.Event) {
	if e.Type == upgrade.EventStopped {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s\n", e.Time.Format("15:04:05"), Describe(e))
}

// Describe is an event in words, on one or more lines.
func Describe(e upgrade.Event) string {
	var b strings.Builder
	if e.Step > 0 {
		fmt.Fprintf(&b, "step %d: ", e.Step)
	}
	switch e.Type {
	case upgrade.EventWrite, upgrade.EventWriteDone:
		p := e.Write
		verb := "set"
		switch {
		case e.Type == upgrade.EventWriteDone:
			verb = "found already set:"
		case e.DryRun == string(upgrade.DryRunClient):
			verb = "would set"
		case e.DryRun == string(upgrade.DryRunServer):
			verb = "would set (server dry run)"
		}
		fmt.Fprintf(&b, "%s %s %s %s -> %s", verb, p.Object, p.Field, p.From, p.To)
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	case upgrade.EventMachine:
		fmt.Fprintf(&b, "Machine %s %s (%s)", e.Machine.Name, machineVerb(e.Change), e.Version)
		if e.Object != nil {
			fmt.Fprintf(&b, " of %s", e.Object)
		}
	case upgrade.EventStepStarted:
		b.WriteString("started: " + e.Message)
	case upgrade.EventStepDone:
		b.WriteString("done")
		if e.TookSeconds != nil {
			fmt.Fprintf(&b, " in %s", seconds(*e.TookSeconds))
			if e.Estimated != nil {
				fmt.Fprintf(&b, " (estimated %s)", seconds(e.Estimated.Seconds))
			}
		}
		if e.Remaining != nil {
			fmt.Fprintf(&b, "; the steps left: %s", e.Remaining)
		}
		if e.Message != "" {
			b.WriteString(" (" + e.Message + ")")
		}
		for _, p := range e.Progress {
			fmt.Fprintf(&b, "\n  %s: %s (predicted %s)", p.Object, counts(p.Observed), counts(p.Predicted))
		}
		for _, d := range e.Differences {
			b.WriteString("\n  differs from the prediction: " + d)
		}
	case upgrade.EventStalled:
		b.WriteString(e.Message + "; why:")
		for _, r := range e.Reasons {
			b.WriteString("\n  - " + r)
		}
	case upgrade.EventOverride:
		fmt.Fprintf(&b, "preflight [%s] overridden: %s", e.Rule, e.Message)
	case upgrade.EventCompleted:
		b.WriteString("completed: " + e.Message)
		for _, d := range e.Differences {
			b.WriteString("\n  - " + d)
		}
	case upgrade.EventStopped:
		b.WriteString("stopped: " + e.Message)
		for _, r := range e.Reasons {
			b.WriteString("\n  - " + r)
		}
	default:
		b.WriteString(strings.ToLower(string(e.Type)))
		if e.Object != nil {
			b.WriteString(" " + e.Object.String())
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	}
	return b.String()
}

func machineVerb(c upgrade.MachineChange) string {
	switch c {
	case upgrade.MachineCreated:
		return "created"
	case upgrade.MachineInPlace:
		return "updated in place"
	}
	return "deleted"
}

func counts(c planner.MachineCounts) string {
	return fmt.Sprintf("%d new, %d in place, %d deleted", c.Created, c.UpdatedInPlace, c.Deleted)
}

// seconds renders a duration in seconds as "1m4s", to the second: a step's
// time and its estimate are compared at that precision.
func seconds(s int64) string {
	if s > math.MaxInt64/int64(time.Second) {
		return fmt.Sprintf("%ds", s)
	}
	return (time.Duration(s) * time.Second).String()
}
