package planner_test

import (
	"context"
	"fmt"
	"time"

	"github.com/capi-planner/capi-planner/catalog"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/state/snapshot"
)

// Plan a snapshot's Clusters to a target, as `capi-planner plan -f DIR --to
// v1.36.3` does, from a program of your own: read the state, take the release
// catalog embedded in capi-planner, and plan.
func ExamplePlan() {
	ctx := context.Background()
	st, err := snapshot.Read(ctx, []string{"../fixtures/unmanaged"}, snapshot.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	releases, err := catalog.Embedded()
	if err != nil {
		fmt.Println(err)
		return
	}
	to, err := planner.ParseTarget("v1.36.3")
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := planner.Plan(ctx, st, planner.Selection{To: to}, planner.Options{Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Catalog: releases})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range plan.Clusters {
		fmt.Printf("%s/%s: %s, %d steps\n", c.Cluster.Namespace, c.Cluster.Name, c.Status, len(c.Steps))
		for _, s := range c.Steps {
			fmt.Printf("  %d %s -> %s\n", s.Number, s.Kind, s.Version)
		}
	}
	// Output:
	// legacy/db: Planned, 5 steps
	//   1 ControlPlane -> v1.34.4
	//   2 ControlPlane -> v1.35.4
	//   3 Workers -> v1.35.4
	//   4 ControlPlane -> v1.36.3
	//   5 Workers -> v1.36.3
}
