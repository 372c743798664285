package realcapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/internal/capienv"
)

// chain is the bundled example's ClusterClass version list.
var chain = []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3"}

// doneWhen is shaped like the bundled example: 3 control plane replicas with
// maxSurge 1, one MachineDeployment of 2 with maxSurge 1 and maxUnavailable 0,
// the etcd-image and version-file patches, the gates on.
func doneWhen() capienv.ClusterSpec {
	return capienv.ClusterSpec{Version: "v1.33.4", Topology: true, Patches: true, Versions: chain,
		ControlPlaneReplicas: 3, ControlPlaneMaxSurge: 1,
		MachineDeployments: []capienv.MachineDeploymentSpec{{Name: "md-0", Replicas: 2, MaxSurge: 1}}}
}

// oneControlPlaneMachine is doneWhen with a single control plane Machine, for
// scenarios whose subject is the workers or the version source: each control
// plane Machine costs the tier a workload API server and etcd of its own, and
// KCP's checks of them, on its two cores.
func oneControlPlaneMachine() capienv.ClusterSpec {
	c := doneWhen()
	c.ControlPlaneReplicas = 1
	return c
}

// smallest is doneWhen with one control plane Machine and one worker, for
// tests whose subject is not how many Machines move.
func smallest() capienv.ClusterSpec {
	c := oneControlPlaneMachine()
	c.MachineDeployments[0].Replicas = 1
	return c
}

// The in-place issue's example: the extension covers the version, the etcd image
// tag and the files, so the control plane steps to v1.34.3 and v1.35.2 each
// create 1, update 2 in place and delete 1; at v1.36.3 KCP's KubeadmConfig also
// loses a kubeadm feature gate, which it does not cover: 3/0/3. Workers 1/1/1.
func TestInPlaceDoneWhen(t *testing.T) {
	r := scenario{cluster: doneWhen(), to: "v1.36.3"}.run(t, "inplace")
	plan := r.plans(t)
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			if ch.Prediction == nil || ch.Prediction.Basis != "Confirmed" {
				t.Errorf("step %d %s: the prediction is not Confirmed by the extension: %+v", s.Number, ch.Object.Name, ch.Prediction)
			}
		}
	}
	r.upgrade(t, plan)
	r.compare(t, plan)
}

// With in-place updates refused by the extension, every Machine is replaced.
// The Cluster is upgraded twice, to v1.34.3 and then on to v1.36.3: the
// second plan's durations rest on the pace of the first rollout, which the
// planner learns from the Machines it created (see docs/how-it-plans.md).
func TestInPlaceRefused(t *testing.T) {
	r := scenario{cluster: doneWhen(), ext: capienv.ExtensionOptions{RefuseInPlace: true}}.run(t, "refused")
	for i, to := range []string{"v1.34.3", "v1.36.3"} {
		if i > 0 {
			r.settle(t.Context(), t)
		}
		r.to = to
		plan := r.plans(t)
		for _, s := range plan.Steps {
			for _, ch := range s.Changes {
				if p := ch.Prediction; p == nil || p.Counts.UpdatedInPlace != 0 {
					t.Errorf("step %d %s: predicted in place: %+v", s.Number, ch.Object.Name, p)
				}
				if p := ch.Prediction; i > 0 && ch.Object.Kind == "KubeadmControlPlane" && (p == nil || p.Duration == nil || !strings.Contains(p.Duration.Basis, "one after the other")) {
					t.Errorf("step %d %s: the estimate does not rest on the first rollout's pace: %+v", s.Number, ch.Object.Name, p)
				}
			}
		}
		r.upgrade(t, plan)
		r.compare(t, plan)
	}
}

// check provisions the scenario, plans it (offline, live, and asking the
// extension), upgrades it with the real controllers and compares.
func (s scenario) check(t *testing.T, name string) {
	r := s.run(t, name)
	plan := r.plans(t)
	r.upgrade(t, plan)
	r.compare(t, plan)
}

// KubeadmControlPlane with maxSurge 0: no Machine is created before one is deleted.
func TestControlPlaneMaxSurge0(t *testing.T) {
	c := doneWhen()
	c.ControlPlaneMaxSurge = 0
	scenario{cluster: c, to: "v1.35.2"}.check(t, "cp-surge0")
}

// A single control plane replica.
func TestSingleControlPlaneReplica(t *testing.T) {
	c := doneWhen()
	c.ControlPlaneReplicas = 1
	scenario{cluster: c, to: "v1.35.2"}.check(t, "cp-single")
}

// A MachineDeployment with maxSurge 0 and maxUnavailable 1, Machines replaced.
func TestMachineDeploymentMaxUnavailable(t *testing.T) {
	c := oneControlPlaneMachine()
	c.MachineDeployments = []capienv.MachineDeploymentSpec{{Name: "md-0", Replicas: 3, MaxUnavailable: 1}}
	scenario{cluster: c, to: "v1.34.3", ext: capienv.ExtensionOptions{RefuseInPlace: true}}.check(t, "md-unavailable")
}

// upgrade-concurrency 2: two MachineDeployments upgrade in one wave.
func TestUpgradeConcurrency(t *testing.T) {
	c := oneControlPlaneMachine()
	c.Annotations = map[string]string{"topology.cluster.x-k8s.io/upgrade-concurrency": "2"}
	c.MachineDeployments = []capienv.MachineDeploymentSpec{{Name: "md-0", Replicas: 1, MaxSurge: 1}, {Name: "md-1", Replicas: 1, MaxSurge: 1}}
	scenario{cluster: c, to: "v1.34.3"}.check(t, "concurrency")
}

// A chain over four minors.
func TestChainOverFourMinors(t *testing.T) {
	c := oneControlPlaneMachine()
	c.Version = "v1.32.8"
	c.Versions = append([]string{"v1.32.8"}, chain...)
	scenario{cluster: c, to: "v1.36.3"}.check(t, "four-minors")
}

// A Cluster without a topology: KubeadmControlPlane and two MachineDeployments,
// upgraded minor by minor as the plan says.
func TestUnmanagedMinorByMinor(t *testing.T) {
	unmanaged().check(t, "unmanaged")
}

// defer-upgrade on the only MachineDeployment: the control plane goes on to its
// last step, then everything waits until the annotation is removed.
func TestDeferUpgrade(t *testing.T) {
	c := smallest()
	c.MachineDeployments[0].Annotations = map[string]string{"topology.cluster.x-k8s.io/defer-upgrade": ""}
	scenario{cluster: c, to: "v1.34.3", during: releaseWorkersAfterStall}.check(t, "defer")
}

// hold-upgrade-sequence on the first of two MachineDeployments holds both.
func TestHoldUpgradeSequence(t *testing.T) {
	c := oneControlPlaneMachine()
	c.MachineDeployments = []capienv.MachineDeploymentSpec{
		{Name: "md-0", Replicas: 1, MaxSurge: 1, Annotations: map[string]string{"topology.cluster.x-k8s.io/hold-upgrade-sequence": ""}},
		{Name: "md-1", Replicas: 1, MaxSurge: 1},
	}
	scenario{cluster: c, to: "v1.34.3", during: releaseWorkersAfterStall}.check(t, "hold")
}

// An OnDelete MachineDeployment stalls until the operator deletes its old
// Machines; then the MachineSet replaces them.
func TestOnDeleteMachineDeployment(t *testing.T) {
	c := oneControlPlaneMachine()
	c.MachineDeployments = []capienv.MachineDeploymentSpec{{Name: "md-0", Replicas: 2, OnDelete: true}}
	scenario{cluster: c, to: "v1.34.3", ext: capienv.ExtensionOptions{RefuseInPlace: true}, during: deleteOldWorkers}.check(t, "ondelete")
}

// A ClusterClass patch that changes the control plane's machine template from
// v1.35 on: the topology controller rotates the DevMachineTemplate at that step,
// which the extension does not cover, so that step replaces every control plane
// Machine while the step before is updated in place.
func TestPatchRotatesTemplateAtAVersion(t *testing.T) {
	c := doneWhen()
	c.RotateAt = "1.35.0"
	r := scenario{cluster: c, to: "v1.35.2"}.run(t, "rotate")
	plan := r.plans(t)
	if n := len(plan.Steps); n < 2 || plan.Steps[1].Changes[0].Prediction.Counts.UpdatedInPlace != 0 ||
		!slices.ContainsFunc(plan.Steps[1].Changes[0].Prediction.Differences, func(d string) bool { return strings.HasPrefix(d, "infrastructureMachine.spec") }) {
		t.Errorf("the step to v1.35.2 is not predicted to replace the Machines for the rotated template: %+v", plan.Steps)
	}
	r.upgrade(t, plan)
	r.compare(t, plan)
}
