package render

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/capi-planner/capi-planner/planner"
)

// Catalogue writes docs/findings.md: every rule the planner can emit, grouped by
// where it appears in the plan, from the planner's catalogue.
func Catalogue(w io.Writer, rules []planner.Rule) error {
	m := &markdown{w: w}
	m.printf("# Rules: rejections, blockers, predictions and findings\n\n")
	m.printf("<!-- Generated from planner/catalogue.go by `make golden`; a test fails when it is out of date. -->\n\n")
	m.printf("Every rule capi-planner can emit, with its severity, where it comes from in Cluster API, and what to do.\n")
	m.printf("A rule with a **condition** depends on the controllers, their versions or their feature gates: when the\n")
	m.printf("input shows them, capi-planner emits the finding only if the condition holds; when it does not, the\n")
	m.printf("finding carries `condition` (\"holds only if ...\"). Findings can be suppressed with `--ignore` and\n")
	m.printf("`--ignore-file` (see [usage.md](usage.md#suppressing-findings)).\n")
	sections := []struct {
		kind  planner.RuleKind
		title string
		intro string
	}{
		{planner.KindRejection, "Rejections", "In `clusters[].rejections`: CAPI would refuse the upgrade (`Rejected`), or the input lacks something (`NeedsInput`)."},
		{planner.KindBlocker, "Blockers", "In `steps[].blockers`: the step stalls until someone acts."},
		{planner.KindPrediction, "Predictions", "In `steps[].changes[].prediction.rule`: what decided whether Machines are updated in place or replaced."},
		{planner.KindFinding, "Findings", "In `clusters[].findings`: what the operator should know before upgrading."},
	}
	for _, s := range sections {
		m.printf("\n## %s\n\n%s\n\n| rule | severity | summary | source in Cluster API | what to do | condition |\n|---|---|---|---|---|---|\n", s.title, s.intro)
		for _, r := range rules {
			if !slices.Contains(r.Kinds, s.kind) {
				continue
			}
			also := ""
			for _, k := range r.Kinds {
				if k != s.kind {
					also += fmt.Sprintf(" (also a %s)", strings.ToLower(string(k)))
				}
			}
			m.printf("| `%s` | %s | %s%s | %s | %s | %s |\n", r.ID, r.Severity, cell(r.Summary), also, cell(r.Source), cell(r.Action), cell(r.Condition))
		}
	}
	return m.err
}
