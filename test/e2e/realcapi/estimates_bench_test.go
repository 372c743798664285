package realcapi

import (
	"fmt"
	"math"
	"testing"

	"github.com/capi-planner/capi-planner/internal/capienv"
)

// estimateTolerance is issue 8's target: each change's duration estimate
// within ±25% of the time it took.
const estimateTolerance = 0.25

// BenchmarkEstimates provisions and upgrades scenarios one at a time on the
// real controllers (alone, as on a management cluster that runs one upgrade:
// side by side on two cores a rollout takes up to four times as long), and
// compares each change's duration estimate with the time it took, from its
// object's spec at the version to the object at rest there. Together they
// have each kind of step: control plane Machines replaced and updated in
// place, with and without a past rollout to learn from; workers replaced and
// updated in place; a Cluster without a topology; and a fleet, whose second
// Cluster learns from the first's upgrade.
//
// Each scenario is a sub-benchmark (-bench 'Estimates/fleet' runs one), and
// each upgrade one of its own. It
// reports the lowest and highest ratio (estimate over time taken), and fails
// when one is outside ±25%, or when a change has no estimate. `make bench`
// runs it once (about 21 minutes).
func BenchmarkEstimates(b *testing.B) {
	unmanaged := doneWhen()
	unmanaged.Topology, unmanaged.Patches, unmanaged.Versions = false, false, nil
	unmanaged.MachineDeployments = []capienv.MachineDeploymentSpec{{Name: "md-0", Replicas: 1, MaxSurge: 1}}
	scenarios := []struct {
		name string
		s    scenario
		// upgrades are the versions upgraded to one after the other; the
		// later ones learn from the rollouts before.
		upgrades []string
		// peers are more Clusters like it in its namespace, created with it
		// and upgraded after it the same way: each learns from those before.
		peers []string
	}{
		{name: "inplace", s: scenario{cluster: doneWhen()}, upgrades: []string{"v1.36.3"}},
		{name: "refused", s: scenario{cluster: doneWhen(), ext: capienv.ExtensionOptions{RefuseInPlace: true}}, upgrades: []string{"v1.34.3", "v1.35.2"}},
		{name: "unmanaged", s: scenario{cluster: unmanaged, planArgs: []string{"--versions", "v1.34.3,v1.35.2"}}, upgrades: []string{"v1.35.2"}},
		// Two in-place steps leave the first Cluster's in-place updates to
		// learn from (a third would replace the Machines updated in place).
		{name: "fleet", s: scenario{cluster: doneWhen()}, upgrades: []string{"v1.35.2"}, peers: []string{"web2"}},
	}
	low, high := math.Inf(1), math.Inf(-1)
	var misses []string
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			for i := range b.N {
				first := sc.s.start(b, fmt.Sprintf("est-%s-%d", sc.name, i))
				runs := []*run{first}
				for _, name := range sc.peers {
					runs = append(runs, first.peer(b, name))
				}
				for _, r := range runs {
					for j, to := range sc.upgrades {
						if j > 0 {
							r.settle(b.Context(), b)
						}
						// One sub-benchmark an upgrade: Go keeps only the first
						// lines of a benchmark's log, the estimates among them.
						b.Run(r.name+"-to-"+to, func(b *testing.B) {
							r.to = to
							plan := r.plans(b)
							r.upgrade(b, plan)
							r.compare(b, plan)
							for _, e := range r.estimates(plan) {
								ratio := e.ratio()
								if ratio > 0 {
									low, high = min(low, ratio), max(high, ratio)
								}
								if ratio == 0 || math.Abs(ratio-1) > estimateTolerance {
									misses = append(misses, fmt.Sprintf("%s %s: %s", sc.name, r.name, e))
								}
							}
						})
					}
				}
			}
		})
	}
	b.ReportMetric(low, "ratio-min")
	b.ReportMetric(high, "ratio-max")
	b.Logf("estimates over the time taken: %.2fx to %.2fx (target: within %.2fx and %.2fx)", low, high, 1-estimateTolerance, 1+estimateTolerance)
	for _, m := range misses {
		b.Errorf("outside ±%.0f%% or without an estimate: %s", estimateTolerance*100, m)
	}
}
