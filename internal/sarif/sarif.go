// Package sarif writes a plan's findings and rejections as SARIF 2.1.0 for code
// scanning. Planned offline, each result points at the snapshot file and the line
// of the object it is about, so that code scanning shows it on the file that
// holds the object; live, it names the object as a logical location.
package sarif

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	sarif "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/capi-planner/capi-planner/planner"
)

// InformationURI is where the rules are documented.
const InformationURI = "https://github.com/capi-planner/capi-planner/blob/main/docs/findings.md"

// Locate says where an object was read from: a file and the line its document
// starts on; ok is false when it was not read from a file (live, or stdin).
type Locate func(ref planner.ObjectRef) (file string, line int, ok bool)

// Write writes the plan's rejections and findings as one SARIF run. locate may be nil.
func Write(w io.Writer, p *planner.UpgradePlan, locate Locate) error {
	run := sarif.NewRunWithInformationURI("capi-planner", InformationURI)
	if v := p.Metadata.PlannerVersion; v != "" {
		run.Tool.Driver.WithVersion(v)
	}
	for _, r := range planner.Rules() {
		if !slices.Contains(r.Kinds, planner.KindFinding) && !slices.Contains(r.Kinds, planner.KindRejection) {
			continue
		}
		full := r.Summary + ". From " + r.Source + "."
		if r.Condition != "" {
			full += " Depends on " + r.Condition + "."
		}
		run.AddRule(string(r.ID)).
			WithName(string(r.ID)).
			WithShortDescription(sarif.NewMultiformatMessageString().WithText(r.Summary)).
			WithFullDescription(sarif.NewMultiformatMessageString().WithText(full)).
			WithHelp(sarif.NewMultiformatMessageString().WithText(r.Action)).
			WithHelpURI(InformationURI).
			WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(level(r.Severity)))
	}
	for _, c := range p.Clusters {
		for _, r := range c.Rejections {
			run.CreateResultForRule(string(r.Rule)).
				WithLevel(level(planner.SeverityError)).
				WithMessage(sarif.NewTextMessage(r.Message)).
				WithLocations([]*sarif.Location{location(c.Cluster, nil, locate)})
		}
		for _, f := range c.Findings {
			msg := f.Message
			if f.Condition != "" {
				msg += " (" + f.Condition + ")"
			}
			res := run.CreateResultForRule(string(f.Rule)).
				WithLevel(level(f.Severity)).
				WithMessage(sarif.NewTextMessage(fmt.Sprintf("Cluster %s/%s: %s", c.Cluster.Namespace, c.Cluster.Name, msg))).
				WithLocations([]*sarif.Location{location(c.Cluster, f.Objects, locate)})
			if f.Suppressed != nil {
				res.AddSuppression(sarif.NewSuppression().WithKind("external").WithStatus("accepted").
					WithJustification(f.Suppressed.Reason + " (" + f.Suppressed.Source + ")"))
			}
		}
	}
	report := sarif.NewReport()
	report.AddRun(run)
	if err := report.PrettyWrite(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func level(s planner.Severity) string {
	switch s {
	case planner.SeverityError:
		return "error"
	case planner.SeverityWarning:
		return "warning"
	}
	return "note"
}

// location points at the first of the objects read from a file, else at the
// Cluster's file; it names every object (and the Cluster) as logical locations.
func location(cluster planner.ObjectRef, objects []planner.ObjectRef, locate Locate) *sarif.Location {
	loc := sarif.NewLocation()
	refs := slices.Clone(objects)
	if !slices.Contains(refs, cluster) {
		refs = append(refs, cluster)
	}
	for _, ref := range refs {
		loc.AddLogicalLocation(sarif.NewLogicalLocation().WithName(ref.Name).WithKind("resource").WithFullyQualifiedName(ref.String()))
	}
	if locate == nil {
		return loc
	}
	for _, ref := range refs {
		if file, line, ok := locate(ref); ok {
			region := sarif.NewRegion().WithStartLine(max(line, 1))
			loc.WithPhysicalLocation(sarif.NewPhysicalLocation().
				WithArtifactLocation(sarif.NewArtifactLocation().WithURI(uri(file))).
				WithRegion(region))
			break
		}
	}
	return loc
}

// uri is a file's SARIF URI: relative paths as they are (code scanning resolves
// them against the repository root), absolute ones as file URIs.
func uri(file string) string {
	file = filepath.ToSlash(file)
	if strings.HasPrefix(file, "/") {
		return "file://" + file
	}
	return strings.TrimPrefix(file, "./")
}
