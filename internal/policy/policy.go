// Package policy checks plans against the gates CI pipelines set (--fail-on).
package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/capi-planner/capi-planner/planner"
)

// Replace fails a plan in which Machines would be replaced.
type Replace struct {
	// Objects restricts the check to these object names (or topology names); empty checks all.
	Objects []string
	// Accelerators restricts the check to Machines with accelerators: the steps and
	// objects of the plan's AcceleratorMachinesReplaced findings that are not suppressed.
	Accelerators bool
}

// Parse parses a --fail-on value: "replace", "replace:name,name" or "replace-gpu".
func Parse(s string) (*Replace, error) {
	if s == "replace-gpu" {
		return &Replace{Accelerators: true}, nil
	}
	what, names, hasNames := strings.Cut(s, ":")
	if what != "replace" {
		return nil, fmt.Errorf("invalid --fail-on %q: expected replace, replace:NAME,NAME or replace-gpu", s)
	}
	r := &Replace{}
	if hasNames {
		for _, n := range strings.Split(names, ",") {
			if n = strings.TrimSpace(n); n != "" {
				r.Objects = append(r.Objects, n)
			}
		}
		if len(r.Objects) == 0 {
			return nil, fmt.Errorf("invalid --fail-on %q: name the objects after replace, e.g. replace:md-0", s)
		}
	}
	return r, nil
}

// Violation is one step and object that would replace Machines.
type Violation struct {
	Cluster string
	Step    int
	Object  planner.ObjectRef
	Counts  planner.MachineCounts
	Rule    planner.RuleID
}

func (v Violation) String() string {
	return fmt.Sprintf("Cluster %s step %d: %s replaces Machines (%d created, %d deleted) [%s]", v.Cluster, v.Step, v.Object, v.Counts.Created, v.Counts.Deleted, v.Rule)
}

// Check lists every step and object of the plan that would replace Machines.
func (r *Replace) Check(p *planner.UpgradePlan) []Violation {
	var out []Violation
	for _, c := range p.Clusters {
		for _, s := range c.Steps {
			for _, ch := range s.Changes {
				pr := ch.Prediction
				if pr == nil || (pr.Counts.Created == 0 && pr.Counts.Deleted == 0) || !r.selects(ch) || (r.Accelerators && !acceleratorsReplaced(c.Findings, s.Number, ch.Object)) {
					continue
				}
				out = append(out, Violation{Cluster: c.Cluster.Namespace + "/" + c.Cluster.Name, Step: s.Number, Object: ch.Object, Counts: pr.Counts, Rule: pr.Rule})
			}
		}
	}
	return out
}

func (r *Replace) selects(ch planner.Change) bool {
	return len(r.Objects) == 0 || slices.Contains(r.Objects, ch.Object.Name) || (ch.TopologyName != "" && slices.Contains(r.Objects, ch.TopologyName))
}

// acceleratorsReplaced reports whether a finding, not suppressed, says that the
// object replaces Machines with accelerators at the step.
func acceleratorsReplaced(findings []planner.Finding, step int, obj planner.ObjectRef) bool {
	for _, f := range findings {
		if f.Rule == planner.RuleAcceleratorMachinesReplaced && f.Suppressed == nil && slices.Contains(f.Steps, step) && slices.Contains(f.Objects, obj) {
			return true
		}
	}
	return false
}
