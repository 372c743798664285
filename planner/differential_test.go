package planner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/blang/semver/v4"

	"sigs.k8s.io/cluster-api/exp/topology/desiredstate"

	"github.com/capi-planner/capi-planner/internal/fleet"
)

// genCase is a generated planning input: a version list without minor gaps, a
// control plane in it, a target above it, and workers at most 3 minors behind.
type genCase struct {
	versions []string
	cp       string
	target   string
	workers  []fleet.WorkerSpec
}

func (g genCase) String() string {
	return fmt.Sprintf("versions=%v cp=%s target=%s workers=%v", g.versions, g.cp, g.target, g.workers)
}

func generate(r *rand.Rand) genCase {
	base := 24 + r.IntN(10)
	minors := 1 + r.IntN(8)
	var byMinor [][]string
	var all []string
	for m := base; m <= base+minors; m++ {
		var patches []string
		p := r.IntN(3)
		for range 1 + r.IntN(3) {
			patches = append(patches, fmt.Sprintf("v1.%d.%d", m, p))
			p += 1 + r.IntN(5)
		}
		byMinor = append(byMinor, patches)
		all = append(all, patches...)
	}
	cpIdx := r.IntN(len(all) - 1)
	g := genCase{versions: all, cp: all[cpIdx], target: all[cpIdx+1+r.IntN(len(all)-cpIdx-1)]}
	cpMinor := minorOf(g.cp)
	if gap := cpMinor + 1; r.IntN(10) == 0 && gap < minorOf(g.target) {
		// A list with a missing minor, which CAPI's plan validation rejects.
		g.versions = slices.DeleteFunc(slices.Clone(all), func(v string) bool { return minorOf(v) == gap })
	}
	for i := range r.IntN(5) {
		// A worker version at most 3 minors behind the control plane and not above it.
		var candidates []string
		for _, patches := range byMinor {
			for _, v := range patches {
				if minorOf(v)+3 >= cpMinor && semverLE(v, g.cp) {
					candidates = append(candidates, v)
				}
			}
		}
		g.workers = append(g.workers, fleet.WorkerSpec{Name: fmt.Sprintf("w%d", i), Version: candidates[r.IntN(len(candidates))], Replicas: 1, Pool: r.IntN(3) == 0})
	}
	return g
}

func minorOf(v string) uint64 { return semver.MustParse(v[1:]).Minor }

func semverLE(a, b string) bool { return semver.MustParse(a[1:]).LTE(semver.MustParse(b[1:])) }

// TestDifferentialAgainstCAPI checks, over many generated inputs, that the plan the
// planner reports and the steps it simulates decision by decision match what
// CAPI's own functions compute in one go: GetUpgradePlanFromClusterClassVersions for
// the control plane, DefaultAndValidateUpgradePlans for the workers, with the
// minimum worker version computed here independently.
func TestDifferentialAgainstCAPI(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	cases := 1500
	if testing.Short() {
		cases = 200
	}
	var seen coverage
	for i := range cases {
		g := generate(r)
		for _, topology := range []bool{true, false} {
			seen.add(checkAgainstCAPI(t, g, topology))
		}
		if t.Failed() {
			t.Fatalf("case %d: %s", i, g)
		}
	}
	t.Logf("%+v", seen)
	// The generator must keep reaching the interesting shapes.
	if seen.catchUp < cases/50 || seen.multiWorkerSteps < cases/50 || seen.rejected == 0 || seen.pools < cases/10 {
		t.Errorf("generated inputs do not cover the interesting cases: %+v", seen)
	}
}

// coverage counts the shapes of plan the generated inputs produced.
type coverage struct {
	catchUp, multiWorkerSteps, rejected, pools int
}

func (c *coverage) add(p ClusterPlan) {
	if p.Status == StatusRejected {
		c.rejected++
	}
	workerSteps := 0
	for i, s := range p.Steps {
		if s.Kind == StepWorkers {
			workerSteps++
			if i == 0 {
				c.catchUp++
			}
			for _, ch := range s.Changes {
				if ch.Object.Kind == "MachinePool" {
					c.pools++
					break
				}
			}
		}
	}
	if workerSteps > 1 {
		c.multiWorkerSteps++
	}
}

func checkAgainstCAPI(t *testing.T, g genCase, topology bool) ClusterPlan {
	t.Helper()
	ctx := context.Background()
	spec := fleet.ClusterSpec{Namespace: "ns", Name: "c", ControlPlaneVersion: g.cp, TopologyVersion: g.target, Replicas: 1, Workers: g.workers}
	objs := []fleet.Objects{}
	// For topology Clusters spec.topology.version is already the target: the
	// planner plans what remains of the upgrade in flight.
	versions := []string(nil)
	if topology {
		spec.Class = "cc"
		objs = append(objs, fleet.ClusterClass(fleet.ClassSpec{Namespace: "ns", Name: "cc", Versions: g.versions, MachinePools: true}))
	} else {
		versions = g.versions
	}
	objs = append(objs, fleet.Cluster(spec))
	p := planOne(t, buildState(t, objs...), "ns", "c", g.target, versions)

	wantCP, _, err := desiredstate.GetUpgradePlanFromClusterClassVersions(g.versions)(ctx, g.target, g.cp, "")
	if err != nil {
		t.Fatalf("CAPI control plane plan: %v", err)
	}
	minWorkers := ""
	for _, w := range g.workers {
		if minWorkers == "" || semver.MustParse(w.Version[1:]).LT(semver.MustParse(minWorkers[1:])) {
			minWorkers = w.Version
		}
	}
	wantW, err := desiredstate.DefaultAndValidateUpgradePlans(g.target, g.cp, minWorkers, wantCP, nil)
	if err != nil {
		if p.Status != StatusRejected {
			t.Errorf("topology=%v: CAPI rejects the plan (%v), the planner says %s", topology, err, p.Status)
		}
		return p
	}
	if p.Status != StatusPlanned && p.Status != StatusUpToDate {
		t.Fatalf("topology=%v: status %s %+v", topology, p.Status, p.Rejections)
	}
	if p.Current.MinWorkers != minWorkers {
		t.Errorf("topology=%v: min workers %q, CAPI's rule gives %q", topology, p.Current.MinWorkers, minWorkers)
	}
	if !slices.Equal(p.UpgradePlan.ControlPlane, orEmpty(wantCP)) || !slices.Equal(p.UpgradePlan.Workers, orEmpty(wantW)) {
		t.Errorf("topology=%v: plan %v / %v, CAPI %v / %v", topology, p.UpgradePlan.ControlPlane, p.UpgradePlan.Workers, wantCP, wantW)
	}
	var cpSteps, workerSteps []string
	cp := g.cp
	workers := map[string]string{}
	for _, w := range g.workers {
		workers["c-"+w.Name] = w.Version
	}
	for _, s := range p.Steps {
		if s.Kind == StepControlPlane {
			cpSteps = append(cpSteps, s.Version)
			if minorOf(s.Version) > minorOf(cp)+1 {
				t.Errorf("control plane step %s skips a minor from %s", s.Version, cp)
			}
			cp = s.Version
		} else {
			workerSteps = append(workerSteps, s.Version)
			for _, c := range s.Changes {
				workers[c.Object.Name] = c.To
			}
		}
		for name, v := range workers {
			if minorOf(cp) > minorOf(v)+3 || !semverLE(v, cp) {
				t.Errorf("after step %d: worker %s at %s, control plane at %s", s.Number, name, v, cp)
			}
		}
	}
	if !slices.Equal(cpSteps, wantCP) || (len(g.workers) > 0 && !slices.Equal(workerSteps, wantW)) {
		t.Errorf("topology=%v: simulated steps control plane %v workers %v, CAPI's plan %v / %v", topology, cpSteps, workerSteps, wantCP, wantW)
	}
	if cp != g.target {
		t.Errorf("the control plane ends at %s, not %s", cp, g.target)
	}
	for name, v := range workers {
		if v != g.target {
			t.Errorf("worker %s ends at %s, not %s", name, v, g.target)
		}
	}
	return p
}
