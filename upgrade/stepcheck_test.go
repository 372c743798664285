package upgrade

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/planfile"
	"github.com/capi-planner/capi-planner/planner"
)

var (
	cpRef = planner.ObjectRef{Kind: "KubeadmControlPlane", Namespace: "ns", Name: "cp"}
	mdRef = planner.ObjectRef{Kind: "MachineDeployment", Namespace: "ns", Name: "md"}
)

func controlPlane(version string, replicas, upToDate int64, generation, observed int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "KubeadmControlPlane",
		"metadata": map[string]any{"namespace": "ns", "name": "cp", "generation": generation},
		"spec":     map[string]any{"version": version, "replicas": replicas},
		"status":   map[string]any{"observedGeneration": observed, "replicas": replicas, "upToDateReplicas": upToDate, "availableReplicas": replicas},
	}}
	return u
}

func machine(name, uid, owner, version string, cp bool) clusterv1.Machine {
	m := clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(uid), Labels: map[string]string{}}}
	if cp {
		m.Labels[clusterv1.MachineControlPlaneNameLabel] = owner
	} else {
		m.Labels[clusterv1.MachineDeploymentNameLabel] = owner
	}
	m.Spec.Version = version
	return m
}

func TestStepDone(t *testing.T) {
	step := planner.Step{Number: 1, Changes: []planner.Change{{Object: cpRef, From: "v1.33.4", To: "v1.34.3"}}}
	for _, tc := range []struct {
		name    string
		v       *view
		done    bool
		pending string
	}{
		{"not started", &view{controlPlane: controlPlane("v1.33.4", 1, 1, 1, 1), machines: []clusterv1.Machine{machine("m1", "1", "cp", "v1.33.4", true)}}, false, "at v1.33.4, not yet v1.34.3"},
		{"not observed", &view{controlPlane: controlPlane("v1.34.3", 1, 1, 2, 1), machines: []clusterv1.Machine{machine("m1", "1", "cp", "v1.33.4", true)}}, false, "1 replicas"},
		{"an old Machine left", &view{controlPlane: controlPlane("v1.34.3", 1, 1, 2, 2), machines: []clusterv1.Machine{machine("m1", "1", "cp", "v1.33.4", true)}}, false, "Machine m1 at v1.33.4"},
		{"a Machine too many", &view{controlPlane: controlPlane("v1.34.3", 1, 1, 2, 2), machines: []clusterv1.Machine{machine("m1", "1", "cp", "v1.34.3", true), machine("m2", "2", "cp", "v1.34.3", true)}}, false, "2 Machines, want 1"},
		{"landed", &view{controlPlane: controlPlane("v1.34.3", 1, 1, 2, 2), machines: []clusterv1.Machine{machine("m2", "2", "cp", "v1.34.3", true)}}, true, ""},
		{"moved past it", &view{controlPlane: controlPlane("v1.35.2", 1, 0, 3, 2), machines: []clusterv1.Machine{machine("m2", "2", "cp", "v1.34.3", true)}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done, pending := stepDone(tc.v, step, cpRef)
			if done != tc.done || !strings.Contains(strings.Join(pending, ";"), tc.pending) {
				t.Errorf("done %v %v, want %v and pending %q", done, pending, tc.done, tc.pending)
			}
		})
	}
	md := clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "md", Generation: 2}}
	md.Spec.Replicas = ptr.To(int32(1))
	md.Spec.Template.Spec.Version = "v1.34.3"
	md.Status.ObservedGeneration = 2
	md.Status.Replicas, md.Status.UpToDateReplicas, md.Status.AvailableReplicas = ptr.To(int32(1)), ptr.To(int32(1)), ptr.To(int32(1))
	workers := planner.Step{Number: 2, Changes: []planner.Change{{Object: mdRef, From: "v1.33.4", To: "v1.34.3"}}}
	// Its status says done before the new MachineSet exists: the Machines say otherwise.
	v := &view{controlPlane: controlPlane("v1.34.3", 1, 1, 1, 1), mds: []clusterv1.MachineDeployment{md}, machines: []clusterv1.Machine{machine("w1", "3", "md", "v1.33.4", false)}}
	if done, pending := stepDone(v, workers, cpRef); done {
		t.Errorf("a MachineDeployment with an old Machine is done: %v", pending)
	}
	v.machines = []clusterv1.Machine{machine("w2", "4", "md", "v1.34.3", false)}
	if done, pending := stepDone(v, workers, cpRef); !done {
		t.Errorf("a landed MachineDeployment is not done: %v", pending)
	}
}

func TestTracker(t *testing.T) {
	plan := &planner.ClusterPlan{Cluster: planner.ObjectRef{Kind: "Cluster", Namespace: "ns", Name: "c"}, Steps: []planner.Step{
		{Number: 1, Changes: []planner.Change{{Object: cpRef, From: "v1.33.4", To: "v1.34.3", Prediction: &planner.Prediction{Verdict: planner.VerdictMixed, Counts: planner.MachineCounts{Created: 1, UpdatedInPlace: 1, Deleted: 1}}}}},
		{Number: 2, Changes: []planner.Change{{Object: mdRef, From: "v1.33.4", To: "v1.34.3", Prediction: &planner.Prediction{Verdict: planner.VerdictRollout, Counts: planner.MachineCounts{Created: 1, Deleted: 1}}}}},
	}}
	inputs := []planfile.Object{
		{Kind: "Machine", Name: "cp-a", UID: "a", Version: "v1.33.4", Owner: &cpRef},
		{Kind: "Machine", Name: "cp-b", UID: "b", Version: "v1.33.4", Owner: &cpRef},
		{Kind: "Machine", Name: "w-c", UID: "c", Version: "v1.33.4", Owner: &mdRef},
	}
	var events []Event
	tr := newTracker(plan, cpRef, inputs, func(e Event) { events = append(events, e) })
	h := tr.handler()
	// A resumed run: cp-a was updated in place and w-c deleted while nobody watched.
	a := machine("cp-a", "a", "cp", "v1.34.3", true)
	b := machine("cp-b", "b", "cp", "v1.33.4", true)
	h.OnAdd(&a, true)
	h.OnAdd(&b, true)
	tr.listedAll()
	n := machine("cp-n", "n", "cp", "v1.34.3", true)
	h.OnAdd(&n, false)
	h.OnDelete(&b)
	stray := machine("x", "x", "other", "v1.30.0", false)
	h.OnAdd(&stray, false)
	progress, diffs := tr.compare(plan.Steps[0])
	if got := progress[0].Observed; got != (planner.MachineCounts{Created: 1, UpdatedInPlace: 1, Deleted: 1}) || len(diffs) != 0 {
		t.Errorf("step 1 observed %+v, differences %v", got, diffs)
	}
	progress, diffs = tr.compare(plan.Steps[1])
	if got := progress[0].Observed; got != (planner.MachineCounts{Deleted: 1}) || len(diffs) != 1 {
		t.Errorf("step 2 observed %+v, differences %v", got, diffs)
	}
	if u := tr.takeUnattributed(); len(u) != 1 || !strings.Contains(u[0], "Machine x") {
		t.Errorf("unattributed %v", u)
	}
	if len(events) != 5 {
		t.Errorf("%d Machine events, want 5: %+v", len(events), events)
	}
}

func TestWhyStalled(t *testing.T) {
	c := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c"}}
	c.Status.Conditions = []metav1.Condition{{Type: clusterv1.ClusterTopologyReconciledCondition, Status: metav1.ConditionFalse,
		Reason:  clusterv1.ClusterTopologyReconciledClusterUpgradingReason,
		Message: "Cluster is upgrading to v1.34.3\n  * Following hooks are blocking upgrade: BeforeClusterUpgrade: waiting for the change window\n  * KubeadmControlPlane pending upgrade to version v1.34.3"}}
	md := clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Name: "md"}}
	md.Spec.Template.Spec.Version = "v1.34.3"
	md.Spec.Rollout.Strategy.Type = clusterv1.OnDeleteMachineDeploymentStrategyType
	deleting := machine("w-d", "d", "other", "v1.33.4", false)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	deleting.Status.Conditions = []metav1.Condition{{Type: clusterv1.MachineDeletingCondition, Status: metav1.ConditionTrue, Reason: "DrainingNode", Message: "Drain not completed yet:\n* Pod p: cannot evict pod as it would violate the pod's disruption budget"}}
	v := &view{cluster: c, controlPlane: controlPlane("v1.33.4", 1, 1, 1, 1), mds: []clusterv1.MachineDeployment{md},
		machines: []clusterv1.Machine{machine("w-old", "o", "md", "v1.33.4", false), deleting}}
	got := strings.Join(whyStalled(v, []string{"pending"}), "\n")
	for _, want := range []string{
		"Cluster: Following hooks are blocking upgrade: BeforeClusterUpgrade: waiting for the change window",
		"MachineDeployment md uses the OnDelete strategy: it replaces a Machine only after you delete it; delete w-old to go on",
		"Machine w-d is deleting (DrainingNode): Drain not completed yet:; * Pod p: cannot evict pod",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the reasons do not say %q:\n%s", want, got)
		}
	}
	quiet := &view{cluster: &clusterv1.Cluster{}, controlPlane: controlPlane("v1.33.4", 1, 1, 1, 1)}
	if got := whyStalled(quiet, []string{"KubeadmControlPlane cp is at v1.33.4, not yet v1.34.3"}); len(got) != 1 || !strings.Contains(got[0], "not yet") {
		t.Errorf("without a reason in the objects, the pending work is the reason: %v", got)
	}
}

func TestGates(t *testing.T) {
	p := &planner.ClusterPlan{Status: planner.StatusBlocked,
		Steps: []planner.Step{{Number: 2, Blockers: []planner.Blocker{{Rule: "MachineDeploymentUpgradeDeferred", Message: "md waits"}}}},
		Findings: []planner.Finding{
			{Severity: planner.SeverityError, Rule: "VersionSkewPolicy", Message: "skew"},
			{Severity: planner.SeverityError, Rule: "Accepted", Message: "ok", Suppressed: &planner.Suppression{Reason: "known"}},
			{Severity: planner.SeverityWarning, Rule: "Warn", Message: "w"},
		}}
	failed, skipped, err := gates(p, []planner.RuleID{"MachineDeploymentUpgradeDeferred"})
	if err != nil || len(failed) != 1 || failed[0].Rule != "VersionSkewPolicy" || len(skipped) != 1 || skipped[0].Rule != "MachineDeploymentUpgradeDeferred" {
		t.Errorf("failed %v skipped %v err %v", failed, skipped, err)
	}
	rejected := &planner.ClusterPlan{Status: planner.StatusRejected, Rejections: []planner.Rejection{{Rule: "Downgrade", Message: "no"}}}
	if _, _, err := gates(rejected, []planner.RuleID{"Downgrade"}); err == nil || !strings.Contains(err.Error(), "[Downgrade] no") {
		t.Errorf("a rejection passes the gates, even named in --skip-preflight: %v", err)
	}
}

func TestPlanDiff(t *testing.T) {
	base := func() *planner.ClusterPlan {
		return &planner.ClusterPlan{Status: planner.StatusPlanned, Target: "v1.35.2", Steps: []planner.Step{
			{Number: 1, Version: "v1.34.3", Duration: &planner.Estimate{Seconds: 60}, Changes: []planner.Change{{Object: cpRef, From: "v1.33.4", To: "v1.34.3",
				Prediction: &planner.Prediction{Verdict: planner.VerdictInPlace, Reasons: []string{"a"}}}}}}}
	}
	a, b := base(), base()
	b.Steps[0].Duration = &planner.Estimate{Seconds: 90}
	b.Steps[0].Changes[0].Prediction.Reasons = []string{"b"}
	if d := PlanDiff(a, b); d != "" {
		t.Errorf("durations and reasons count as differences:\n%s", d)
	}
	b.Steps[0].Changes[0].Prediction.Verdict = planner.VerdictRollout
	if d := PlanDiff(a, b); !strings.Contains(d, "Rollout") {
		t.Errorf("another verdict is no difference:\n%s", d)
	}
}

// A MachinePool is judged by its status versions (its Machines, if any, are
// the provider's): done when every replica reports the version and is available.
func TestStepDoneMachinePool(t *testing.T) {
	mpRef := planner.ObjectRef{Kind: "MachinePool", Namespace: "ns", Name: "mp"}
	step := planner.Step{Number: 2, Changes: []planner.Change{{Object: mpRef, From: "v1.33.4", To: "v1.34.3", Wave: 1}}}
	pool := func(spec string, generation, observed int64, available int32, versions ...clusterv1.StatusVersion) clusterv1.MachinePool {
		mp := clusterv1.MachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "mp", Generation: generation}}
		mp.Spec.Replicas = ptr.To(int32(2))
		mp.Spec.Template.Spec.Version = spec
		mp.Status.ObservedGeneration = observed
		mp.Status.AvailableReplicas = ptr.To(available)
		mp.Status.Versions = versions
		return mp
	}
	at := func(version string, n int32) clusterv1.StatusVersion {
		return clusterv1.StatusVersion{Version: version, Replicas: n}
	}
	for _, tc := range []struct {
		name    string
		mp      clusterv1.MachinePool
		done    bool
		pending string
	}{
		{"not written", pool("v1.33.4", 1, 1, 2, at("v1.33.4", 2)), false, "MachinePool mp is at v1.33.4, not yet v1.34.3"},
		{"not observed", pool("v1.34.3", 2, 1, 2, at("v1.33.4", 2)), false, "generation 2 not observed yet"},
		{"half the replicas", pool("v1.34.3", 2, 2, 2, at("v1.33.4", 1), at("v1.34.3", 1)), false, "1 replicas still at v1.33.4"},
		{"one unavailable", pool("v1.34.3", 2, 2, 1, at("v1.34.3", 2)), false, "1 available, want 2"},
		{"landed", pool("v1.34.3", 2, 2, 2, at("v1.34.3", 2)), true, ""},
		{"moved past it", pool("v1.35.2", 3, 2, 2, at("v1.34.3", 2)), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &view{controlPlane: controlPlane("v1.34.3", 1, 1, 1, 1), mps: []clusterv1.MachinePool{tc.mp}}
			done, pending := stepDone(v, step, cpRef)
			if done != tc.done || !strings.Contains(strings.Join(pending, ";"), tc.pending) {
				t.Errorf("done %v %v, want %v and pending %q", done, pending, tc.done, tc.pending)
			}
		})
	}
}

// TestPreviousUpgradeFinished follows the Cluster annotations that CAPI
// v1.14.2 wrote after an upgrade in the realcapi tier's logs: the hook marked
// done and written back by the same reconcile, then both annotations dropped.
func TestPreviousUpgradeFinished(t *testing.T) {
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		done        bool
		pending     string
	}{
		{"never upgraded", nil, true, ""},
		{"hook pending", map[string]string{"runtime.cluster.x-k8s.io/pending-hooks": "AfterClusterUpgrade", clusterv1.ClusterTopologyUpgradeStepAnnotation: "v1.34.3"}, false, "AfterClusterUpgrade hook has not been called"},
		{"hook marked done, not yet written back", map[string]string{clusterv1.ClusterTopologyUpgradeStepAnnotation: "v1.34.3"}, false, "still tracks the upgrade to v1.34.3"},
		{"other hooks pending", map[string]string{"runtime.cluster.x-k8s.io/pending-hooks": "AfterControlPlaneInitialized"}, true, ""},
		{"finished", map[string]string{"unrelated": "x"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Annotations: tc.annotations}}
			done, pending := previousUpgradeFinished(&view{cluster: c})
			if done != tc.done || (tc.pending != "" && (len(pending) != 1 || !strings.Contains(pending[0], tc.pending))) {
				t.Fatalf("got %v %q, want %v and %q", done, pending, tc.done, tc.pending)
			}
		})
	}
}
