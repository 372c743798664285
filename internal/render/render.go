// Package render writes plans for people (tables, Markdown) and for programs (JSON, YAML, SARIF).
// Renderers only format: every fact they print is in the plan document.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/capi-planner/capi-planner/internal/sarif"
	"github.com/capi-planner/capi-planner/planner"
)

// Format is an output format (-o).
type Format string

// Formats.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatYAML  Format = "yaml"
	// FormatMarkdown is for CI job summaries and pull-request comments.
	FormatMarkdown Format = "markdown"
	// FormatSARIF is SARIF 2.1.0, for code scanning: findings and rejections only.
	FormatSARIF Format = "sarif"
)

// ParseFormat validates an -o value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "", FormatTable:
		return FormatTable, nil
	case FormatJSON, FormatYAML, FormatMarkdown, FormatSARIF:
		return f, nil
	case "md":
		return FormatMarkdown, nil
	}
	return "", fmt.Errorf("invalid -o %q: expected table, json, yaml, markdown or sarif", s)
}

// Options configure rendering.
type Options struct {
	Format Format
	// Color enables ANSI colour in tables.
	Color bool
	// Locate says where objects were read from, for SARIF; nil when live.
	Locate sarif.Locate
}

// Plan writes the plan in the chosen format.
func Plan(w io.Writer, p *planner.UpgradePlan, opts Options) error {
	switch opts.Format {
	case FormatJSON:
		data, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(data, '\n'))
		return err
	case FormatYAML:
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		out, err := yaml.JSONToYAML(data)
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	case FormatMarkdown:
		return (&markdown{w: w}).plan(p)
	case FormatSARIF:
		return sarif.Write(w, p, opts.Locate)
	default:
		t := &table{w: w, color: opts.Color}
		if len(p.Clusters) == 1 {
			return t.cluster(p, &p.Clusters[0])
		}
		return t.summary(p)
	}
}

// activeFindings returns the findings not suppressed, and a line naming the
// suppressed ones ("" when none).
func activeFindings(fs []planner.Finding) ([]planner.Finding, string) {
	var active []planner.Finding
	var suppressed []string
	for _, f := range fs {
		if f.Suppressed == nil {
			active = append(active, f)
			continue
		}
		if !slices.Contains(suppressed, string(f.Rule)) {
			suppressed = append(suppressed, string(f.Rule))
		}
	}
	if n := len(fs) - len(active); n > 0 {
		return active, fmt.Sprintf("%d suppressed (%s); -o json shows them with the reasons", n, strings.Join(suppressed, ", "))
	}
	return active, ""
}

// findingText is a finding's message, with the condition it holds on when the
// input did not show it.
func findingText(f planner.Finding) string {
	if f.Condition == "" {
		return f.Message
	}
	return f.Message + " (" + f.Condition + ")"
}
