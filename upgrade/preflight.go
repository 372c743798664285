package upgrade

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/capi-planner/capi-planner/internal/planfile"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/state"
)

// Replanned is the Cluster planned again from the live cluster, with the
// saved plan's options.
type Replanned struct {
	State *state.State
	Plan  planner.ClusterPlan
}

// StaleError refuses a saved plan the cluster has moved away from.
type StaleError struct {
	Cluster planner.ObjectRef
	// Objects lists the inputs that changed; PlanDiff how the plan differs.
	Objects  planfile.Diff
	PlanDiff string
}

// MultiLine marks the message as lines to print as they are.
func (*StaleError) MultiLine() {}

func (e *StaleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the saved plan of Cluster %s/%s is stale: nothing was written.\n", e.Cluster.Namespace, e.Cluster.Name)
	if !e.Objects.Empty() {
		b.WriteString("These objects changed since it was made:\n" + e.Objects.String())
	}
	if e.PlanDiff != "" {
		b.WriteString("Planned again now, the plan differs (- saved, + now):\n" + e.PlanDiff)
	}
	b.WriteString("Plan again (capi-planner plan --out FILE), review the plan, and apply the new one.")
	return b.String()
}

// checkStale compares the cluster now with the saved plan: the inputs by uid
// and generation, and the plan made again from them.
func checkStale(saved *planfile.SavedPlan, cp *planner.ClusterPlan, now *Replanned) error {
	in := saved.InputsOf(cp.Cluster)
	c := planfile.ClusterOf(now.State, cp.Cluster)
	if c == nil {
		return fmt.Errorf("cluster %s/%s is gone: nothing was written", cp.Cluster.Namespace, cp.Cluster.Name)
	}
	diff := planfile.Compare(in.Objects, planfile.Collect(now.State, c))
	planDiff := PlanDiff(cp, &now.Plan)
	if diff.Empty() && planDiff == "" {
		return nil
	}
	return &StaleError{Cluster: cp.Cluster, Objects: diff, PlanDiff: planDiff}
}

// PlanDiff shows how two plans of a Cluster differ in what apply acts on: the
// status, target, trigger, CAPI's upgrade plan, the steps with their
// changes, predictions, hooks and blockers, and the rejections. Estimated
// durations and findings' wording are left out: they move with the clock.
func PlanDiff(saved, now *planner.ClusterPlan) string {
	type comparable struct {
		Status      planner.Status
		Target      string
		Trigger     *planner.Patch
		UpgradePlan planner.UpgradePaths
		Steps       []planner.Step
		Rejections  []planner.Rejection
	}
	pick := func(p *planner.ClusterPlan) comparable {
		return comparable{p.Status, p.Target, p.Trigger, p.UpgradePlan, p.Steps, p.Rejections}
	}
	return cmp.Diff(pick(saved), pick(now),
		cmpopts.IgnoreFields(planner.Step{}, "Duration"),
		cmpopts.IgnoreFields(planner.Prediction{}, "Duration", "Reasons"),
		cmpopts.IgnoreUnexported(planner.Prediction{}),
		cmpopts.EquateEmpty())
}

// GateError is a preflight gate that failed.
type GateError struct {
	Failed []Gate
}

// Gate is one failed check, with what to do.
type Gate struct {
	Rule    planner.RuleID
	Message string
}

// MultiLine marks the message as lines to print as they are.
func (*GateError) MultiLine() {}

func (e *GateError) Error() string {
	var b strings.Builder
	b.WriteString("preflight failed: nothing more was written.\n")
	for _, g := range e.Failed {
		fmt.Fprintf(&b, "  [%s] %s\n", g.Rule, g.Message)
	}
	b.WriteString("Fix what they say and run apply again. To go on anyway, name the rules in --skip-preflight (only blockers and findings can be skipped; a rejection cannot: CAPI would refuse the write).")
	return b.String()
}

// gates checks what would stop or stall the remaining steps, in the plan made
// again now: its rejections (never skippable: CAPI refuses them), the
// blockers of its steps and its findings of severity Error that are not
// suppressed. It returns the skipped gates separately.
func gates(p *planner.ClusterPlan, skip []planner.RuleID) (failed, skipped []Gate, err error) {
	if p.Status == planner.StatusRejected || p.Status == planner.StatusNeedsInput {
		var rs []Gate
		for _, r := range p.Rejections {
			rs = append(rs, Gate{Rule: r.Rule, Message: r.Message})
		}
		return nil, nil, &GateError{Failed: rs}
	}
	add := func(g Gate) {
		if slices.Contains(skip, g.Rule) {
			skipped = append(skipped, g)
			return
		}
		failed = append(failed, g)
	}
	for _, s := range p.Steps {
		for _, b := range s.Blockers {
			add(Gate{Rule: b.Rule, Message: fmt.Sprintf("step %d stalls until someone acts: %s", s.Number, b.Message)})
		}
	}
	for _, f := range p.Findings {
		if f.Severity == planner.SeverityError && f.Suppressed == nil {
			add(Gate{Rule: f.Rule, Message: f.Message})
		}
	}
	return failed, skipped, nil
}
