package upgrade

import (
	"fmt"

	"github.com/blang/semver/v4"

	"github.com/capi-planner/capi-planner/planner"
)

// Write is one write of the plan: a field of one object from a version to the next.
type Write struct {
	// Step is the number of the step it starts (for a topology Cluster, the first).
	Step int
	// Wave orders the writes of a worker step (see planner.Change.Wave).
	Wave  int
	Patch planner.Patch
	// Group is the object's API group.
	Group string
}

// ID names the write in the progress record: unique within a plan.
func (w Write) ID() string {
	return fmt.Sprintf("%d/%s/%s/%s", w.Step, w.Patch.Object.Kind, w.Patch.Object.Name, w.Patch.To)
}

// Writes lists the plan's writes in the order apply makes them. A topology
// Cluster has one, spec.topology.version to the target (CAPI runs the chain),
// or, when its ClusterClass allows one minor per write, one at the first step
// of each minor; a Cluster without a topology has the control plane's
// spec.version at each control-plane step and each worker's version at the
// worker steps, in waves.
func Writes(c *planner.ClusterPlan, groupOf func(planner.ObjectRef) string) []Write {
	if c.Trigger != nil && len(c.Steps) > 0 {
		return []Write{{Step: c.Steps[0].Number, Patch: *c.Trigger, Group: groupOf(c.Trigger.Object)}}
	}
	var out []Write
	for _, s := range c.Steps {
		for _, ch := range s.Changes {
			if ch.Patch != nil {
				out = append(out, Write{Step: s.Number, Wave: ch.Wave, Patch: *ch.Patch, Group: groupOf(ch.Patch.Object)})
			}
		}
	}
	return out
}

// Versions is where a Cluster's control plane and workers stand, as apply
// checks them before a write.
type Versions struct {
	// ControlPlane is the control plane's version where it is at rest: every
	// Machine at spec.version.
	ControlPlane string
	// Workers are each worker's spec version, by object.
	Workers map[planner.ObjectRef]string
}

// CheckInvariants refuses a write that would break what an upgrade must keep,
// whatever the plan says: never a downgrade; a control plane never skips a
// minor, and never leaves a worker more minors behind than the skew policy
// allows; a worker never moves ahead of the control plane.
func CheckInvariants(w Write, isControlPlane bool, v Versions) error {
	from, err := semver.ParseTolerant(w.Patch.From)
	if err != nil {
		return fmt.Errorf("%s %s: from %q is not a version", w.Patch.Object, w.Patch.Field, w.Patch.From)
	}
	to, err := semver.ParseTolerant(w.Patch.To)
	if err != nil {
		return fmt.Errorf("%s %s: to %q is not a version", w.Patch.Object, w.Patch.Field, w.Patch.To)
	}
	refuse := func(format string, a ...any) error {
		return fmt.Errorf("refusing to set %s %s from %s to %s: %s", w.Patch.Object, w.Patch.Field, w.Patch.From, w.Patch.To, fmt.Sprintf(format, a...))
	}
	if to.LT(from) {
		return refuse("that is a downgrade, which Kubernetes does not support")
	}
	if isControlPlane {
		if to.Major != from.Major || to.Minor > from.Minor+1 {
			return refuse("a control plane moves one minor at a time")
		}
		for ref, wv := range v.Workers {
			worker, err := semver.ParseTolerant(wv)
			if err != nil {
				continue
			}
			if to.Minor > worker.Minor+planner.MaxKubeletSkew(worker) {
				return refuse("%s at %s would lag the control plane by more minors than the Kubernetes skew policy allows", ref, wv)
			}
		}
		return nil
	}
	cp, err := semver.ParseTolerant(v.ControlPlane)
	if err != nil {
		return refuse("the control plane has not landed on a version yet (%q)", v.ControlPlane)
	}
	if to.GT(cp) {
		return refuse("workers never move ahead of the control plane, which is at %s", v.ControlPlane)
	}
	return nil
}
