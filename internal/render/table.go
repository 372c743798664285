package render

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/capi-planner/capi-planner/internal/english"
	"github.com/capi-planner/capi-planner/planner"
)

// table renders plans for a terminal, in the spirit of `kubeadm upgrade plan`.
type table struct {
	w     io.Writer
	color bool
	err   error
}

const (
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiReset  = "\x1b[0m"
)

func (t *table) paint(code, s string) string {
	if !t.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *table) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

func (t *table) status(s planner.Status) string {
	switch s {
	case planner.StatusPlanned, planner.StatusUpToDate:
		return t.paint(ansiGreen, string(s))
	case planner.StatusBlocked:
		return t.paint(ansiYellow, string(s))
	default:
		return t.paint(ansiRed, string(s))
	}
}

func (t *table) severity(s planner.Severity) string {
	label := strings.ToUpper(string(s))
	switch s {
	case planner.SeverityError:
		return t.paint(ansiRed, label)
	case planner.SeverityWarning:
		return t.paint(ansiYellow, label)
	default:
		return label
	}
}

// summary writes one line per Cluster.
func (t *table) summary(p *planner.UpgradePlan) error {
	tw := tabwriter.NewWriter(t.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, t.paint(ansiBold, "CLUSTER\tMODE\tCURRENT\tTARGET\tSOURCE\tSTEPS\tMACHINES\tSTATUS\tNOTE"))
	for i := range p.Clusters {
		c := &p.Clusters[i]
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", c.Cluster.Namespace, c.Cluster.Name, c.Mode,
			dash(currentVersion(c)), dash(c.Target), dash(sourceType(c.VersionSource)), len(c.Steps), dash(clusterMachines(c)), t.status(c.Status), note(c))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	t.printf("\n%d clusters. Plan one in detail with --cluster NAMESPACE/NAME.\n", len(p.Clusters))
	return t.err
}

func currentVersion(c *planner.ClusterPlan) string {
	if c.Current.ControlPlane != "" {
		return c.Current.ControlPlane
	}
	return c.Current.Topology
}

// note is the most important thing to know about a Cluster's plan, in one cell.
func note(c *planner.ClusterPlan) string {
	if len(c.Rejections) > 0 {
		return string(c.Rejections[0].Rule)
	}
	for _, s := range c.Steps {
		if len(s.Blockers) > 0 {
			return fmt.Sprintf("step %d: %s", s.Number, s.Blockers[0].Rule)
		}
	}
	counts := map[planner.Severity]int{}
	active, _ := activeFindings(c.Findings)
	for _, f := range active {
		counts[f.Severity]++
	}
	var parts []string
	for _, s := range []planner.Severity{planner.SeverityError, planner.SeverityWarning} {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, english.Plural(strings.ToLower(string(s)), n)))
		}
	}
	return strings.Join(parts, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cluster writes one Cluster's plan in detail.
func (t *table) cluster(p *planner.UpgradePlan, c *planner.ClusterPlan) error {
	t.printf("%s\n", t.paint(ansiBold, fmt.Sprintf("Cluster %s/%s", c.Cluster.Namespace, c.Cluster.Name)))
	kv := tabwriter.NewWriter(t.w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(kv, "  %s\t%s\n", k, v)
		}
	}
	mode := string(c.Mode)
	if c.ClusterClass != nil {
		mode += ", ClusterClass " + c.ClusterClass.Namespace + "/" + c.ClusterClass.Name
	}
	row("Mode", mode)
	if c.ControlPlane != nil {
		row("Control plane", strings.TrimSpace(fmt.Sprintf("%s %s", c.ControlPlane, c.Current.ControlPlane)))
	}
	row("Topology version", c.Current.Topology)
	row("Workers", workers(c))
	if c.Target != "" {
		upgrade := fmt.Sprintf("%s -> %s", dash(c.Current.ControlPlane), c.Target)
		if c.Mode == planner.ModeTopology && c.Current.Topology == c.Target && len(c.Steps) > 0 {
			upgrade += " (already under way: spec.topology.version is " + c.Target + ")"
		}
		row("Upgrade", upgrade)
	}
	if c.VersionSource != nil {
		row("Version source", source(*c.VersionSource))
	}
	if c.Status != planner.StatusNeedsInput {
		row("Available targets", strings.Join(c.AvailableTargets, ", ")+noneIfEmpty(c.AvailableTargets))
	}
	if len(c.UpgradePlan.ControlPlane)+len(c.UpgradePlan.Workers) > 0 {
		row("Upgrade plan", fmt.Sprintf("control plane %s; workers %s", chain(c.UpgradePlan.ControlPlane), chain(c.UpgradePlan.Workers)))
	}
	if c.Trigger != nil {
		row("Trigger", fmt.Sprintf("set %s %s to %s", c.Trigger.Object, c.Trigger.Field, c.Trigger.To))
	}
	row("CAPI controllers", controllers(p.Metadata.Management))
	row("Status", fmt.Sprintf("%s (%d %s)", t.status(c.Status), len(c.Steps), english.Plural("step", len(c.Steps))))
	if err := kv.Flush(); err != nil {
		return err
	}
	for _, r := range c.Rejections {
		t.printf("\n%s [%s] %s\n", t.paint(ansiRed, "REJECTED"), r.Rule, r.Message)
	}
	if len(c.Steps) > 0 {
		t.printf("\n")
		t.steps(c)
	}
	if active, suppressed := activeFindings(c.Findings); len(c.Findings) > 0 {
		t.printf("\n%s\n", t.paint(ansiBold, "Findings"))
		for _, f := range active {
			t.printf("  %s [%s] %s\n", t.severity(f.Severity), f.Rule, findingText(f))
		}
		if suppressed != "" {
			t.printf("  %s\n", suppressed)
		}
	}
	t.printf("\nPlanned at %s by capi-planner %s; release catalog of %s.\n",
		p.Metadata.GeneratedAt.Format("2006-01-02 15:04 MST"), dash(p.Metadata.PlannerVersion), p.Metadata.Catalog.Generated.Format("2006-01-02"))
	return t.err
}

func (t *table) steps(c *planner.ClusterPlan) {
	// Rows are aligned by hand: hook and blocker lines sit between them and must
	// neither break the columns nor widen them.
	header := []string{"STEP", "KIND", "OBJECT", "FROM", "TO", "WAVE", "MACHINES"}
	type line struct {
		cells []string // a step row, or nil for a free line
		text  string
	}
	var lines []line
	widths := make([]int, len(header))
	addRow := func(cells []string) {
		for i, c := range cells {
			widths[i] = max(widths[i], len(c))
		}
		lines = append(lines, line{cells: cells})
	}
	addRow(header)
	for _, s := range c.Steps {
		for i, ch := range s.Changes {
			num, kind := "", ""
			if i == 0 {
				num, kind = fmt.Sprint(s.Number), string(s.Kind)
			}
			obj := ch.Object.Kind + " " + ch.Object.Name
			if ch.TopologyName != "" && ch.TopologyName != ch.Object.Name {
				obj += " (" + ch.TopologyName + ")"
			}
			wave := ""
			if ch.Wave > 0 {
				wave = fmt.Sprint(ch.Wave)
			}
			if ch.Deferred {
				wave += " deferred"
			}
			addRow([]string{num, kind, obj, ch.From, ch.To, strings.TrimSpace(wave), machines(ch.Prediction)})
		}
		for _, ch := range s.Changes {
			if why := why(ch.Prediction); why != "" {
				lines = append(lines, line{text: ch.Object.Name + ": " + why})
			}
			if c := changes(ch.Prediction); c != "" {
				lines = append(lines, line{text: "changes: " + c})
			}
		}
		if s.Duration != nil {
			lines = append(lines, line{text: "duration: " + s.Duration.String()})
		}
		if h := hookNames(s.HooksBefore); h != "" {
			lines = append(lines, line{text: "hooks before: " + h})
		}
		if h := hookNames(s.HooksAfter); h != "" {
			lines = append(lines, line{text: "hooks after: " + h})
		}
		for _, b := range s.Blockers {
			lines = append(lines, line{text: fmt.Sprintf("%s [%s] %s", t.paint(ansiYellow, "BLOCKED"), b.Rule, b.Message)})
		}
	}
	indent := strings.Repeat(" ", widths[0]+2+widths[1]+2)
	for i, l := range lines {
		if l.cells == nil {
			t.printf("%s%s\n", indent, l.text)
			continue
		}
		var b strings.Builder
		for j, cell := range l.cells {
			if j < len(l.cells)-1 {
				fmt.Fprintf(&b, "%-*s  ", widths[j], cell)
			} else {
				b.WriteString(cell)
			}
		}
		row := strings.TrimRight(b.String(), " ")
		if i == 0 {
			row = t.paint(ansiBold, row)
		}
		t.printf("%s\n", row)
	}
	if m := c.Machines; m != nil {
		t.printf("\nMachines in all: %d created, %d updated in place, %d deleted; at most %d extra at once.\n", m.Created, m.UpdatedInPlace, m.Deleted, m.PeakExtra)
		switch n := unknownPredictions(c); {
		case n == 1:
			t.printf("(1 change is Unknown and not counted: see its reason.)\n")
		case n > 1:
			t.printf("(%d changes are Unknown and not counted: see their reasons.)\n", n)
		}
		if c.Duration != nil {
			t.printf("Estimated duration: %s (%s; from the pace of the Cluster's Machines, or of its peers' where they show nothing).\n", c.Duration, c.Duration.Basis)
		} else {
			t.printf("Estimated duration: unknown (no history: no Machine reports when its node got ready).\n")
		}
	}
	for _, s := range c.Steps {
		for _, ch := range s.Changes {
			if ch.Patch != nil {
				t.printf("\nWrites capi-planner apply makes, in order, each once the steps before it have landed:\n")
				t.patches(c)
				return
			}
		}
	}
}

func (t *table) patches(c *planner.ClusterPlan) {
	for _, s := range c.Steps {
		for _, ch := range s.Changes {
			if ch.Patch != nil {
				t.printf("  %d. %s %s: %s -> %s\n", s.Number, ch.Patch.Object, ch.Patch.Field, ch.Patch.From, ch.Patch.To)
			}
		}
	}
}

// why is a prediction's rule and main reason: for an in-place update the
// mechanics (its last reason), otherwise why not (its first).
func why(p *planner.Prediction) string {
	if p == nil || len(p.Reasons) == 0 {
		return ""
	}
	reason := p.Reasons[0]
	if p.Rule == planner.RuleInPlace {
		reason = p.Reasons[len(p.Reasons)-1]
	}
	return "[" + string(p.Rule) + "] " + reason
}

// changes lists what a change makes differ on the Machines, when that is more
// than the version (the one difference every step makes); "" otherwise.
func changes(p *planner.Prediction) string {
	if p == nil || len(p.Differences) < 2 {
		return ""
	}
	return strings.Join(p.Differences, ", ")
}

// clusterMachines is a Cluster's totals, or "unknown" when some prediction is.
func clusterMachines(c *planner.ClusterPlan) string {
	if unknownPredictions(c) > 0 {
		return "unknown"
	}
	return machineTotals(c.Machines)
}

func unknownPredictions(c *planner.ClusterPlan) int {
	n := 0
	for _, s := range c.Steps {
		for _, ch := range s.Changes {
			if ch.Prediction != nil && ch.Prediction.Verdict == planner.VerdictUnknown {
				n++
			}
		}
	}
	return n
}

// machineTotals renders a Cluster's totals as "6 new, 5 in place, 6 deleted".
func machineTotals(m *planner.MachineCounts) string {
	if m == nil {
		return ""
	}
	return fmt.Sprintf("%d new, %d in place, %d deleted", m.Created, m.UpdatedInPlace, m.Deleted)
}

// machines renders a prediction as "Mixed: 1 new, 2 in place, 1 deleted (assumed)".
func machines(p *planner.Prediction) string {
	if p == nil {
		return ""
	}
	if p.Verdict == planner.VerdictUnknown {
		return string(p.Verdict)
	}
	out := fmt.Sprintf("%s: %s", p.Verdict, machineTotals(&p.Counts))
	switch {
	case p.AskFailed != "":
		out += " (assumed: asking the extension failed)"
	case p.Basis == planner.BasisAssumed:
		out += " (assumed)"
	}
	return out
}

func workers(c *planner.ClusterPlan) string {
	if len(c.Current.Workers) == 0 {
		return "none"
	}
	var parts []string
	for _, w := range c.Current.Workers {
		parts = append(parts, fmt.Sprintf("%s %s", w.Object.Name, w.Version))
	}
	s := strings.Join(parts, ", ")
	if c.Current.MinWorkers != "" {
		s += " (min " + c.Current.MinWorkers + ")"
	}
	return s
}

func source(s planner.VersionSource) string {
	out := string(s.Type)
	if s.Name != "" {
		out += " " + s.Name
	}
	if s.Note != "" {
		out += ": " + s.Note
	}
	return out
}

// controllers summarises the CAPI controllers: provider, version and the gates they turn on.
func controllers(m *planner.Management) string {
	if m == nil {
		return ""
	}
	var parts []string
	for _, c := range m.Controllers {
		var on []string
		for gate, enabled := range c.FeatureGates {
			if enabled {
				on = append(on, gate)
			}
		}
		sort.Strings(on)
		part := strings.TrimSpace(c.Provider + " " + c.Version)
		if len(on) > 0 {
			part += " (" + strings.Join(on, ", ") + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

func sourceType(s *planner.VersionSource) string {
	if s == nil {
		return ""
	}
	return string(s.Type)
}

func chain(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	return strings.Join(vs, " -> ")
}

func noneIfEmpty(vs []string) string {
	if len(vs) == 0 {
		return "none (already at the newest version the source offers)"
	}
	return ""
}

func hookNames(hs []planner.Hook) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, fmt.Sprintf("%s (%s)", h.Name, strings.Join(h.Handlers, ", ")))
	}
	return strings.Join(parts, ", ")
}
