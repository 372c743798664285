package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/capi-planner/capi-planner/planner"
)

// markdown renders plans as GitHub-flavoured Markdown, for CI job summaries and
// pull-request comments: a summary table of the Clusters, then each Cluster's steps.
type markdown struct {
	w   io.Writer
	err error
}

func (m *markdown) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// cell escapes text for a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(dash(s))
}

func (m *markdown) plan(p *planner.UpgradePlan) error {
	m.printf("# Upgrade plan\n\n")
	m.printf("| Cluster | Mode | Current | Target | Steps | Machines | Status | Note |\n|---|---|---|---|---|---|---|---|\n")
	for i := range p.Clusters {
		c := &p.Clusters[i]
		m.printf("| %s | %s | %s | %s | %d | %s | %s | %s |\n", cell(c.Cluster.Namespace+"/"+c.Cluster.Name), c.Mode, cell(currentVersion(c)), cell(c.Target),
			len(c.Steps), cell(clusterMachines(c)), c.Status, cell(note(c)))
	}
	for i := range p.Clusters {
		m.cluster(&p.Clusters[i])
	}
	m.printf("\n_Planned at %s by capi-planner %s; release catalog of %s._\n",
		p.Metadata.GeneratedAt.Format("2006-01-02 15:04 MST"), dash(p.Metadata.PlannerVersion), p.Metadata.Catalog.Generated.Format("2006-01-02"))
	return m.err
}

func (m *markdown) cluster(c *planner.ClusterPlan) {
	m.printf("\n## %s/%s: %s\n\n", c.Cluster.Namespace, c.Cluster.Name, c.Status)
	for _, r := range c.Rejections {
		m.printf("- **%s**: %s\n", r.Rule, r.Message)
	}
	if c.Target != "" {
		m.printf("%s → %s", cell(c.Current.ControlPlane), c.Target)
		if c.VersionSource != nil {
			m.printf(", versions from %s", c.VersionSource.Type)
		}
		m.printf(".\n")
	}
	if len(c.Steps) > 0 {
		m.printf("\n| Step | Kind | Object | From | To | Machines | Why |\n|---|---|---|---|---|---|---|\n")
		for _, s := range c.Steps {
			for i, ch := range s.Changes {
				num := ""
				if i == 0 {
					num = fmt.Sprint(s.Number)
				}
				reason := why(ch.Prediction)
				if c := changes(ch.Prediction); c != "" {
					reason += "; changes: " + c
				}
				m.printf("| %s | %s | %s | %s | %s | %s | %s |\n", num, s.Kind, cell(ch.Object.Kind+" "+ch.Object.Name), ch.From, ch.To, cell(machines(ch.Prediction)), cell(reason))
			}
			for _, b := range s.Blockers {
				m.printf("|  | **blocked** | %s |  |  |  | %s |\n", cell(string(b.Rule)), cell(b.Message))
			}
		}
	}
	if c.Machines != nil {
		m.printf("\nMachines in all: %s", machineTotals(c.Machines))
		if c.Duration != nil {
			m.printf("; %s", c.Duration)
		}
		m.printf(".\n")
	}
	if active, suppressed := activeFindings(c.Findings); len(c.Findings) > 0 {
		m.printf("\n")
		for _, f := range active {
			m.printf("- %s **%s**: %s\n", f.Severity, f.Rule, findingText(f))
		}
		if suppressed != "" {
			m.printf("- %s\n", suppressed)
		}
	}
}
