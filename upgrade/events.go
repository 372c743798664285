package upgrade

import (
	"time"

	"github.com/capi-planner/capi-planner/planner"
)

// EventAPIVersion and EventKind identify apply's events in `apply -o json`,
// one JSON object per line. Field names are stable within an apiVersion;
// docs/apply.md ("Events") describes them and docs/apply-events.schema.json
// is their schema.
const (
	EventAPIVersion = "capi-planner.io/v1alpha1"
	EventKind       = "ApplyEvent"
)

// EventType says what happened.
type EventType string

// EventType values, in the order a run meets them.
const (
	// EventLocked: apply holds the Cluster's lock (Message names the Lease).
	EventLocked EventType = "Locked"
	// EventResumed: the lock records this plan: a run of it is continued.
	EventResumed EventType = "Resumed"
	// EventPreflight: the plan was checked again against the cluster (Message says what held).
	EventPreflight EventType = "Preflight"
	// EventOverride: a failed preflight gate was skipped with --skip-preflight.
	EventOverride EventType = "Override"
	// EventStepStarted: apply starts following a step.
	EventStepStarted EventType = "StepStarted"
	// EventWrite: a write was made (DryRun says whether only as a dry run).
	EventWrite EventType = "Write"
	// EventWriteDone: a write was found already made (by an earlier run).
	EventWriteDone EventType = "WriteAlreadyDone"
	// EventMachine: a Machine was created, updated in place or deleted.
	EventMachine EventType = "Machine"
	// EventStalled: nothing moved for a while; Reasons say why, from the objects.
	EventStalled EventType = "Stalled"
	// EventStepDone: the controllers finished the step; Differences compare it
	// with the prediction, TookSeconds and Estimated its duration, Remaining
	// re-estimates the steps left.
	EventStepDone EventType = "StepDone"
	// EventCompleted: every step is done (or the --until step).
	EventCompleted EventType = "Completed"
	// EventStopped: apply stopped before the end (Message says why and how to resume).
	EventStopped EventType = "Stopped"
)

// MachineChange is what happened to a Machine.
type MachineChange string

// MachineChange values.
const (
	MachineCreated MachineChange = "Created"
	MachineInPlace MachineChange = "UpdatedInPlace"
	MachineDeleted MachineChange = "Deleted"
)

// Event is one thing apply saw or did.
type Event struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Time       time.Time         `json:"time"`
	Type       EventType         `json:"type"`
	Cluster    planner.ObjectRef `json:"cluster"`
	// Step is the plan's step number; 0 for events of the whole run.
	Step    int                `json:"step,omitempty"`
	Object  *planner.ObjectRef `json:"object,omitempty"`
	Message string             `json:"message,omitempty"`
	// Write is the write of a Write or WriteAlreadyDone event.
	Write *planner.Patch `json:"write,omitempty"`
	// DryRun is "client" or "server" for a write not made for real.
	DryRun string `json:"dryRun,omitempty"`
	// Machine is the Machine of a Machine event, Change what happened to it and
	// Version its version (the new one for an update in place).
	Machine *planner.ObjectRef `json:"machine,omitempty"`
	Change  MachineChange      `json:"change,omitempty"`
	Version string             `json:"version,omitempty"`
	// Progress compares a step's Machines per object with the prediction (StepDone).
	Progress []ObjectProgress `json:"progress,omitempty"`
	// TookSeconds is how long a step this run watched from its start took
	// (StepDone): from StepStarted, its write included, to done.
	TookSeconds *int64 `json:"tookSeconds,omitempty"`
	// Estimated is the plan's estimate of the step (StepDone).
	Estimated *planner.Estimate `json:"estimated,omitempty"`
	// Remaining estimates the steps left, the plan's estimates scaled by how
	// long this run's steps took against theirs (StepDone; absent after the
	// last step or when it cannot be estimated).
	Remaining *planner.Estimate `json:"remaining,omitempty"`
	// Reasons say why a step does not move (Stalled, Stopped).
	Reasons []string `json:"reasons,omitempty"`
	// Differences are how a step, or the run, differs from the prediction.
	Differences []string `json:"differences,omitempty"`
	// Rule is the preflight rule of an Override event.
	Rule planner.RuleID `json:"rule,omitempty"`
}

// ObjectProgress compares a step's Machines of one object with the prediction.
type ObjectProgress struct {
	Object    planner.ObjectRef     `json:"object"`
	Observed  planner.MachineCounts `json:"observed"`
	Predicted planner.MachineCounts `json:"predicted"`
}

// EventSink receives events, in order, from one goroutine.
type EventSink interface {
	Event(Event)
}
