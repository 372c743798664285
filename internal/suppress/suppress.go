// Package suppress marks the findings an operator has accepted (--ignore,
// --ignore-file). Suppressed findings stay in the plan, marked, with the reason.
package suppress

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/capi-planner/capi-planner/planner"
)

// Entry suppresses a rule's findings, on one object or everywhere.
type Entry struct {
	// Rule is a finding rule of the catalogue (docs/findings.md).
	Rule planner.RuleID `json:"rule"`
	// Object is NAMESPACE/NAME of the Cluster or of an object the finding names;
	// empty suppresses the rule's findings in every Cluster.
	Object string `json:"object,omitempty"`
	// Reason says why the finding is accepted; required in a file.
	Reason string `json:"reason"`
	// source is --ignore or the file's path.
	source string
}

func (e Entry) String() string {
	if e.Object == "" {
		return fmt.Sprintf("%s (%s)", e.Rule, e.source)
	}
	return fmt.Sprintf("%s:%s (%s)", e.Rule, e.Object, e.source)
}

// File is the --ignore-file format.
type File struct {
	Ignore []Entry `json:"ignore"`
}

// FlagSource is the source of entries given with --ignore.
const FlagSource = "--ignore"

// ParseFlag parses an --ignore value: RULE or RULE:NAMESPACE/NAME.
func ParseFlag(v string) (Entry, error) {
	rule, object, _ := strings.Cut(strings.TrimSpace(v), ":")
	e := Entry{Rule: planner.RuleID(rule), Object: object, Reason: "ignored with --ignore", source: FlagSource}
	if err := e.check(); err != nil {
		return Entry{}, fmt.Errorf("invalid --ignore %q: %w", v, err)
	}
	return e, nil
}

// ReadFile reads an --ignore-file: unknown fields, a missing reason or an
// unknown rule are errors.
func ReadFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ignore-file: %w", err)
	}
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("--ignore-file %s: %w (expected ignore: [{rule: RULE, object: NAMESPACE/NAME, reason: WHY}])", path, err)
	}
	if len(bytes.TrimSpace(data)) > 0 && f.Ignore == nil {
		return nil, fmt.Errorf("--ignore-file %s: no ignore list", path)
	}
	for i := range f.Ignore {
		e := &f.Ignore[i]
		e.source = path
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("--ignore-file %s, entry %d: %w", path, i+1, err)
		}
		if strings.TrimSpace(e.Reason) == "" {
			return nil, fmt.Errorf("--ignore-file %s, entry %d (%s): give a reason", path, i+1, e.Rule)
		}
	}
	return f.Ignore, nil
}

func (e Entry) check() error {
	r, ok := planner.LookupRule(e.Rule)
	switch {
	case e.Rule == "":
		return errors.New("no rule")
	case !ok:
		return fmt.Errorf("unknown rule %s: see docs/findings.md", e.Rule)
	case !slices.Contains(r.Kinds, planner.KindFinding):
		return fmt.Errorf("%s is not a finding (it is a %s) and cannot be suppressed", e.Rule, strings.ToLower(string(r.Kinds[0])))
	}
	if e.Object != "" {
		ns, name, ok := strings.Cut(e.Object, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return fmt.Errorf("object %q: expected NAMESPACE/NAME", e.Object)
		}
	}
	return nil
}

// Apply marks the plan's findings that the entries suppress (the first matching
// entry gives the reason), and returns the entries that matched no finding.
func Apply(p *planner.UpgradePlan, entries []Entry) []Entry {
	used := make([]bool, len(entries))
	for ci := range p.Clusters {
		c := &p.Clusters[ci]
		for fi := range c.Findings {
			f := &c.Findings[fi]
			for i, e := range entries {
				if e.matches(c.Cluster, f) {
					used[i] = true
					if f.Suppressed == nil {
						f.Suppressed = &planner.Suppression{Reason: e.Reason, Source: e.source}
					}
				}
			}
		}
	}
	var unused []Entry
	for i, e := range entries {
		if !used[i] {
			unused = append(unused, e)
		}
	}
	return unused
}

func (e Entry) matches(cluster planner.ObjectRef, f *planner.Finding) bool {
	if f.Rule != e.Rule {
		return false
	}
	if e.Object == "" {
		return true
	}
	for _, o := range append([]planner.ObjectRef{cluster}, f.Objects...) {
		if o.Namespace+"/"+o.Name == e.Object {
			return true
		}
	}
	return false
}
