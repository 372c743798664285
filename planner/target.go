package planner

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/Masterminds/semver/v3"
)

// TargetKind says how a requested target was written.
type TargetKind int

// TargetKind values.
const (
	// TargetNewest: no --to; the newest version the source offers.
	TargetNewest TargetKind = iota
	// TargetLatest: --to latest.
	TargetLatest
	// TargetMinor: --to v1.36, the latest patch of that minor the source offers.
	TargetMinor
	// TargetExact: --to v1.36.3.
	TargetExact
)

// Target is a parsed --to value.
type Target struct {
	Kind TargetKind
	// Raw is the value as typed.
	Raw string
	// Major and Minor are set for TargetMinor.
	Major, Minor uint64
	// Version is set for TargetExact, normalized with a "v" prefix.
	Version string
}

var minorRE = regexp.MustCompile(`^v?(\d+)\.(\d+)$`)

// ParseTarget parses a target: an exact version (v1.36.3), a minor (v1.36),
// "latest", or "" for the newest version the source offers.
func ParseTarget(s string) (Target, error) {
	switch s {
	case "":
		return Target{Kind: TargetNewest}, nil
	case "latest":
		return Target{Kind: TargetLatest, Raw: s}, nil
	}
	if m := minorRE.FindStringSubmatch(s); m != nil {
		major, err1 := strconv.ParseUint(m[1], 10, 64)
		minor, err2 := strconv.ParseUint(m[2], 10, 64)
		if err1 == nil && err2 == nil {
			return Target{Kind: TargetMinor, Raw: s, Major: major, Minor: minor}, nil
		}
	}
	raw := s
	if len(raw) > 0 && raw[0] == 'v' {
		raw = raw[1:]
	}
	if v, err := semver.StrictNewVersion(raw); err == nil {
		return Target{Kind: TargetExact, Raw: s, Version: "v" + v.String()}, nil
	}
	return Target{}, &InvalidTargetError{Value: s}
}

// String renders the target as the user would write it.
func (t Target) String() string {
	switch t.Kind {
	case TargetNewest:
		return "newest"
	case TargetLatest:
		return "latest"
	case TargetMinor:
		return fmt.Sprintf("v%d.%d", t.Major, t.Minor)
	default:
		return t.Version
	}
}
