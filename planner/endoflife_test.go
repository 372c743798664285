package planner

import (
	"fmt"
	"testing"
	"time"

	"github.com/capi-planner/capi-planner/catalog"
)

func TestEndOfLifeFindings(t *testing.T) {
	date := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// v1.33 has no .0 (earliest patch 2025-11-11), v1.34.0 is dated, v1.35 has
	// no .0 (earliest patch 2026-04-15), v1.36.3 is undated.
	cat := &catalog.Catalog{Releases: []catalog.Release{
		{Version: "v1.33.13", Published: date("2026-06-11")},
		{Version: "v1.33.6", Published: date("2025-11-11")},
		{Version: "v1.34.0", Published: date("2025-08-27")},
		{Version: "v1.34.3", Published: date("2025-12-09")},
		{Version: "v1.35.4", Published: date("2026-04-15")},
		{Version: "v1.36.3"},
	}}
	tests := []struct {
		name    string
		now     string
		running []string // now: the control plane's and the lowest worker's
		steps   []Step
		want    []string // rule [steps] message fragment
	}{
		{"dated .0, before its end of life", "2026-10-26", []string{"v1.34.3"}, nil, nil},
		{"dated .0, on its end of life", "2026-10-27", []string{"v1.34.3"}, nil,
			[]string{"EndOfLife [] at 2026-10-27, v1.34 (now) reached its end of life on 2026-10-27: v1.34.0 was published 2025-08-27, + 14 months;"}},
		{"no .0, past the latest end of life", "2027-01-11", []string{"v1.33.6"}, nil,
			[]string{"EndOfLife [] v1.33 (now) reached its end of life by 2027-01-11 at the latest (the exact date is unknown): the catalog does not date v1.33.0, which precedes v1.33.6, published 2025-11-11, + 14 months;"}},
		{"no .0, its latest end of life ahead", "2026-12-01", []string{"v1.33.13"}, nil,
			[]string{"EndOfLifeUnknown [] at 2026-12-01 is unknown: v1.33 (now), by 2027-01-11 at the latest: the catalog does not date v1.33.0, which precedes v1.33.6, published 2025-11-11, + 14 months"}},
		{"a chain: the current minor and a step past, later ones unknown", "2026-12-01", []string{"v1.34.0"}, controlPlaneSteps("v1.34.3", "v1.35.4", "v1.36.3"),
			[]string{"EndOfLife [1] at 2026-12-01, v1.34 (now and after step 1) reached its end of life on 2026-10-27",
				"EndOfLifeUnknown [2 3] v1.35 (after step 2), by 2027-06-15 at the latest: the catalog does not date v1.35.0, which precedes v1.35.4, published 2026-04-15, + 14 months; v1.36 (after step 3): the catalog dates no release of it"}},
		{"a lagging worker past its end of life, the control plane not", "2026-10-27", []string{"v1.35.4", "v1.34.3"}, controlPlaneSteps("v1.35.4"),
			[]string{"EndOfLife [] v1.34 (now) reached its end of life on 2026-10-27",
				"EndOfLifeUnknown [1] v1.35 (now and after step 1), by 2027-06-15 at the latest"}},
		{"the target's minor, unknown to the catalog", "2026-12-01", []string{"v1.36.3"}, controlPlaneSteps("v1.37.2"),
			[]string{"EndOfLifeUnknown [1] v1.36 (now): the catalog dates no release of it; v1.37 (after step 1): the catalog dates no release of it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range endOfLifeFindings(cat, date(tt.now), tt.running, tt.steps) {
				got = append(got, fmt.Sprintf("%s %v %s", f.Rule, f.Steps, f.Message))
			}
			matchFindings(t, got, tt.want)
		})
	}
}
