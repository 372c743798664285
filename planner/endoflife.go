package planner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/capi-planner/capi-planner/catalog"
)

// supportMonths is how long Kubernetes supports a minor release: about 14 months
// from its .0 release (12 months of patches, then 2 of maintenance mode).
const supportMonths = 14

// endOfLifeSource says where the end of life comes from, and how it is derived.
const endOfLifeSource = "Kubernetes patch releases policy (kubernetes.io/releases/patch-releases: each minor is supported about 14 months from its .0 release); " +
	"the .0 release's date is the time the Go module proxy published k8s.io/kubernetes v1.X.0, from the release catalog embedded in capi-planner"

// lifetime is what the release catalog says of a minor's end of life.
type lifetime struct {
	// end is the end of life: exact when the catalog dates the .0 release,
	// otherwise the latest it can be (its earliest dated patch plus 14 months;
	// a .0 release precedes its patches). Zero when the catalog dates no release.
	end   time.Time
	exact bool
	// from is the release end is derived from.
	from catalog.Release
}

// minorLifetime derives a minor's end of life from the catalog.
func minorLifetime(cat *catalog.Catalog, major, minor uint64) lifetime {
	var lt lifetime
	for _, r := range cat.Releases {
		v, err := parseVersion(r.Version)
		if err != nil || v.Major != major || v.Minor != minor || r.Published.IsZero() {
			continue
		}
		if v.Patch == 0 {
			return lifetime{end: r.Published.AddDate(0, supportMonths, 0), exact: true, from: r}
		}
		if lt.end.IsZero() || r.Published.Before(lt.from.Published) {
			lt = lifetime{end: r.Published.AddDate(0, supportMonths, 0), from: r}
		}
	}
	return lt
}

// describe says how the end of life was derived.
func (lt lifetime) describe(minor string) string {
	switch {
	case lt.exact:
		return fmt.Sprintf("%s.0 was published %s, + %d months", minor, day(lt.from.Published), supportMonths)
	case !lt.end.IsZero():
		return fmt.Sprintf("the catalog does not date %s.0, which precedes %s, published %s, + %d months", minor, lt.from.Version, day(lt.from.Published), supportMonths)
	default:
		return "the catalog dates no release of it"
	}
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// endOfLifeFindings checks the minor of every version the Cluster runs (now:
// the control plane's and the lowest worker's; after each step, and so the target) against its end of life at now, the plan's
// time. A minor past it is a warning; a minor whose end of life the catalog
// cannot place before now is reported as unknown, never guessed.
func endOfLifeFindings(cat *catalog.Catalog, now time.Time, running []string, steps []Step) []Finding {
	type minorUse struct {
		minor    string
		steps    []int
		lifetime lifetime
	}
	var minors []minorUse
	for _, u := range versionUses(running, steps) {
		v, err := parseVersion(u.version)
		if err != nil {
			continue
		}
		minor := fmt.Sprintf("v%d.%d", v.Major, v.Minor)
		i := slices.IndexFunc(minors, func(m minorUse) bool { return m.minor == minor })
		if i < 0 {
			minors = append(minors, minorUse{minor: minor, lifetime: minorLifetime(cat, v.Major, v.Minor)})
			i = len(minors) - 1
		}
		minors[i].steps = append(minors[i].steps, u.steps...)
	}
	var past, unknown []string
	var pastSteps, unknownSteps []int
	for _, m := range minors {
		lt := m.lifetime
		runs := fmt.Sprintf("%s (%s)", m.minor, when(m.steps))
		switch {
		case !lt.end.IsZero() && !now.Before(lt.end):
			end := "on " + day(lt.end)
			if !lt.exact {
				end = "by " + day(lt.end) + " at the latest (the exact date is unknown)"
			}
			past = append(past, fmt.Sprintf("%s reached its end of life %s: %s", runs, end, lt.describe(m.minor)))
			pastSteps = append(pastSteps, m.steps...)
		case !lt.exact:
			bound := ""
			if !lt.end.IsZero() {
				bound = ", by " + day(lt.end) + " at the latest"
			}
			unknown = append(unknown, fmt.Sprintf("%s%s: %s", runs, bound, lt.describe(m.minor)))
			unknownSteps = append(unknownSteps, m.steps...)
		}
	}
	var out []Finding
	if len(past) > 0 {
		slices.Sort(pastSteps)
		out = append(out, Finding{Rule: RuleEndOfLife, Steps: nonZero(slices.Compact(pastSteps)),
			Message: fmt.Sprintf("at %s, %s; upstream no longer releases patches for it", day(now), strings.Join(past, "; "))})
	}
	if len(unknown) > 0 {
		slices.Sort(unknownSteps)
		out = append(out, Finding{Rule: RuleEndOfLifeUnknown, Steps: nonZero(slices.Compact(unknownSteps)),
			Message: fmt.Sprintf("whether these minors are past their end of life at %s is unknown: %s", day(now), strings.Join(unknown, "; "))})
	}
	return out
}
