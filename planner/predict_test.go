package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
)

var inPlaceHooks = []string{hookCanUpdateMachine, hookCanUpdateMachineSet, hookUpdateMachine}

// scenario is the Done-when example of the in-place issue: a topology Cluster at
// v1.33.4, 3 control plane replicas (maxSurge 1), one MachineDeployment of 2
// (maxSurge 1, maxUnavailable 0), gates on, one in-place extension.
type scenario struct {
	gates      string
	extensions [][]string
	cpReplicas int32
	mutate     func(objs fleet.Objects)
	// extend adds objects made from the others.
	extend func(objs fleet.Objects) fleet.Objects
	class  fleet.ClassSpec
	opts   func(*Options)
}

func (sc scenario) plan(t *testing.T) ClusterPlan {
	t.Helper()
	if sc.gates == "" {
		sc.gates = "InPlaceUpdates=true,RuntimeSDK=true"
	}
	if sc.extensions == nil {
		sc.extensions = [][]string{inPlaceHooks}
	}
	if sc.cpReplicas == 0 {
		sc.cpReplicas = 3
	}
	if sc.class.Versions == nil {
		sc.class.Versions = chain
	}
	sc.class.Namespace, sc.class.Name = "ns", "class"
	objs := fleet.Cluster(fleet.ClusterSpec{Namespace: "ns", Name: "c", Class: "class", ControlPlaneVersion: "v1.33.4", Replicas: sc.cpReplicas, ClassPatches: sc.class.Patches,
		Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.33.4", Replicas: 2}}})
	objs = append(objs, fleet.ClusterClass(sc.class)...)
	if sc.gates != "none" {
		objs = append(objs,
			fleet.Controller(fleet.ControllerSpec{Namespace: "capi-system", Name: "capi", Provider: "cluster-api", Image: "capi:v1.14.2", FeatureGates: sc.gates}),
			fleet.Controller(fleet.ControllerSpec{Namespace: "capi-kubeadm-control-plane-system", Name: "kcp", Provider: "control-plane-kubeadm", Image: "kcp:v1.14.2", FeatureGates: sc.gates}))
	}
	for i, hooks := range sc.extensions {
		objs = append(objs, fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "ext-" + string(rune('a'+i)), Hooks: hooks}))
	}
	if sc.mutate != nil {
		sc.mutate(objs)
	}
	if sc.extend != nil {
		objs = append(objs, sc.extend(objs)...)
	}
	opts := Options{Now: testNow, Catalog: testCatalog}
	if sc.opts != nil {
		sc.opts(&opts)
	}
	target, _ := ParseTarget("v1.36.3")
	doc, err := Plan(t.Context(), buildState(t, objs), Selection{Cluster: &types.NamespacedName{Namespace: "ns", Name: "c"}, To: target}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Clusters[0]
}

// predictions renders every change's prediction: "InPlaceUpdate Mixed 1/2/1".
func predictions(p ClusterPlan) []string {
	var out []string
	for _, s := range p.Steps {
		for _, c := range s.Changes {
			pr := c.Prediction
			out = append(out, strings.Join([]string{string(pr.Rule), string(pr.Verdict), countsString(pr.Counts)}, " "))
		}
	}
	return out
}

func countsString(c MachineCounts) string {
	return strings.Join([]string{itoa(c.Created), itoa(c.UpdatedInPlace), itoa(c.Deleted)}, "/")
}

func itoa(i int) string { return strconv.Itoa(i) }

const etcdTag = "kubeadmConfig.spec.clusterConfiguration.etcd.local.imageTag"

// workerImagePatch sets the workers' image from builtin.machineDeployment.version.
var workerImagePatch = clusterv1.ClusterClassPatch{Name: "worker-image", Definitions: []clusterv1.PatchDefinition{{
	Selector: clusterv1.PatchSelector{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta2", Kind: "DockerMachineTemplate",
		MatchResources: clusterv1.PatchSelectorMatch{MachineDeploymentClass: &clusterv1.PatchSelectorMatchMachineDeploymentClass{Names: []string{"default-worker"}}}},
	JSONPatches: []clusterv1.JSONPatch{{Op: "add", Path: "/spec/template/spec/customImage", ValueFrom: &clusterv1.JSONPatchValue{Template: "kindest/node:{{ .builtin.machineDeployment.version }}"}}},
}}}

func setPatches(patches ...clusterv1.ClusterClassPatch) func(fleet.Objects) {
	return func(objs fleet.Objects) {
		for _, o := range objs {
			if cc, ok := o.(*clusterv1.ClusterClass); ok {
				cc.Spec.Patches = patches
			}
		}
	}
}

func kcpOf(objs fleet.Objects) *controlplanev1.KubeadmControlPlane {
	for _, o := range objs {
		if k, ok := o.(*controlplanev1.KubeadmControlPlane); ok {
			return k
		}
	}
	return nil
}

func mdOf(objs fleet.Objects) *clusterv1.MachineDeployment {
	for _, o := range objs {
		if m, ok := o.(*clusterv1.MachineDeployment); ok {
			return m
		}
	}
	return nil
}

func TestPredictions(t *testing.T) {
	tests := []struct {
		name string
		sc   scenario
		want []string // control plane v1.34.3, v1.35.2, v1.36.3, then md-0 v1.36.3
	}{
		{"the Done-when example: in place but for the v1.36 KubeadmConfig gate change", scenario{},
			[]string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "ChangeNotCovered Rollout 3/0/3", "InPlaceUpdate Mixed 1/1/1"}},
		{"the extension is assumed to cover the kubeadm feature gates too", scenario{opts: func(o *Options) { o.AssumeCovered = []string{DiffKubeadmFeatureGates} }},
			[]string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/1/1"}},
		{"gate off: everything is replaced", scenario{gates: "InPlaceUpdates=false,RuntimeSDK=true"},
			[]string{"InPlaceUpdatesDisabled Rollout 3/0/3", "InPlaceUpdatesDisabled Rollout 3/0/3", "InPlaceUpdatesDisabled Rollout 3/0/3", "InPlaceUpdatesDisabled Rollout 2/0/2"}},
		{"gates unknown", scenario{gates: "none"},
			[]string{"FeatureGatesUnknown Unknown 0/0/0", "FeatureGatesUnknown Unknown 0/0/0", "FeatureGatesUnknown Unknown 0/0/0", "FeatureGatesUnknown Unknown 0/0/0"}},
		{"gates given on the command line", scenario{gates: "none", opts: func(o *Options) { o.FeatureGates = map[string]bool{"InPlaceUpdates": true, "RuntimeSDK": true} }},
			[]string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "ChangeNotCovered Rollout 3/0/3", "InPlaceUpdate Mixed 1/1/1"}},
		{"no in-place extension", scenario{extensions: [][]string{}},
			[]string{"NoInPlaceExtension Rollout 3/0/3", "NoInPlaceExtension Rollout 3/0/3", "NoInPlaceExtension Rollout 3/0/3", "NoInPlaceExtension Rollout 2/0/2"}},
		{"two in-place extensions: CAPI errors, the rollout is stuck", scenario{extensions: [][]string{inPlaceHooks, inPlaceHooks}},
			[]string{"MultipleInPlaceExtensions Unknown 0/0/0", "MultipleInPlaceExtensions Unknown 0/0/0", "MultipleInPlaceExtensions Unknown 0/0/0", "MultipleInPlaceExtensions Unknown 0/0/0"}},
		{"KCP maxSurge 0 updates all in place", scenario{mutate: func(objs fleet.Objects) {
			kcpOf(objs).Spec.Rollout.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(0))
		}}, []string{"InPlaceUpdate InPlace 0/3/0", "InPlaceUpdate InPlace 0/3/0", "ChangeNotCovered Rollout 3/0/3", "InPlaceUpdate Mixed 1/1/1"}},
		{"a single control plane replica is always replaced", scenario{cpReplicas: 1},
			[]string{"SingleReplica Rollout 1/0/1", "SingleReplica Rollout 1/0/1", "SingleReplica Rollout 1/0/1", "InPlaceUpdate Mixed 1/1/1"}},
		{"MachineDeployment maxSurge 0, maxUnavailable 1", scenario{mutate: func(objs fleet.Objects) {
			md := mdOf(objs)
			md.Spec.Rollout.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(0))
			md.Spec.Rollout.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(1))
		}}, []string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "ChangeNotCovered Rollout 3/0/3", "InPlaceUpdate InPlace 0/2/0"}},
		{"OnDelete is never in place", scenario{mutate: func(objs fleet.Objects) {
			mdOf(objs).Spec.Rollout.Strategy = clusterv1.MachineDeploymentRolloutStrategy{Type: clusterv1.OnDeleteMachineDeploymentStrategyType}
		}}, []string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "ChangeNotCovered Rollout 3/0/3", "OnDeleteStrategy Rollout 2/0/2"}},
		{"rollout.after passed", scenario{mutate: func(objs fleet.Objects) {
			kcpOf(objs).Spec.Rollout.After = metav1.NewTime(testNow.Add(-time.Hour))
		}}, []string{"RolloutAfterExpired Rollout 3/0/3", "RolloutAfterExpired Rollout 3/0/3", "RolloutAfterExpired Rollout 3/0/3", "InPlaceUpdate Mixed 1/1/1"}},
		{"a control plane Machine with expiring certificates and one marked for deletion", scenario{mutate: func(objs fleet.Objects) {
			kcpOf(objs).Spec.Rollout.Before.CertificatesExpiryDays = 30
			n := 0
			for _, o := range objs {
				if m, ok := o.(*clusterv1.Machine); ok && m.Labels[clusterv1.MachineControlPlaneNameLabel] != "" {
					switch n {
					case 0:
						m.Status.CertificatesExpiryDate = metav1.NewTime(testNow.AddDate(0, 0, 10))
					case 1:
						m.Annotations = map[string]string{clusterv1.DeleteMachineAnnotation: ""}
					}
					n++
				}
			}
		}}, []string{"InPlaceUpdate Mixed 2/1/2", "InPlaceUpdate Mixed 2/1/2", "ChangeNotCovered Rollout 3/0/3", "InPlaceUpdate Mixed 1/1/1"}},
		{"worker Machines without a node are replaced, not moved", scenario{mutate: func(objs fleet.Objects) {
			for _, o := range objs {
				if m, ok := o.(*clusterv1.Machine); ok && m.Labels[clusterv1.MachineDeploymentNameLabel] != "" {
					m.Status.NodeRef = clusterv1.MachineNodeReference{}
				}
			}
		}}, []string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "ChangeNotCovered Rollout 3/0/3", "InPlaceUpdate Rollout 2/0/2"}},
		{"ClusterClass patches change the etcd image and a file at every control plane step; the extension covers them",
			scenario{class: fleet.ClassSpec{Patches: true}, opts: func(o *Options) { o.AssumeCovered = []string{etcdTag, "kubeadmConfig.spec.files"} }},
			[]string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "ChangeNotCovered Rollout 3/0/3", "InPlaceUpdate Mixed 1/1/1"}},
		{"the same patches, the extension covers only the version", scenario{class: fleet.ClassSpec{Patches: true}},
			[]string{"ChangeNotCovered Rollout 3/0/3", "ChangeNotCovered Rollout 3/0/3", "ChangeNotCovered Rollout 3/0/3", "InPlaceUpdate Mixed 1/1/1"}},
		{"a worker image patch rotates the MachineDeployment's InfraMachineTemplate", scenario{mutate: setPatches(workerImagePatch)},
			[]string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "ChangeNotCovered Rollout 3/0/3", "ChangeNotCovered Rollout 2/0/2"}},
		{"the extension covers the worker image", scenario{mutate: setPatches(workerImagePatch), opts: func(o *Options) {
			o.AssumeCovered = []string{DiffKubeadmFeatureGates, "infrastructureMachine.spec.customImage"}
		}}, []string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/1/1"}},
		{"external patches cannot be evaluated offline", scenario{mutate: setPatches(clusterv1.ClusterClassPatch{Name: "remote", External: &clusterv1.ExternalPatchDefinition{GeneratePatchesExtension: "gen.ext"}})},
			[]string{"PatchesNotEvaluated Unknown 0/0/0", "PatchesNotEvaluated Unknown 0/0/0", "ChangeNotCovered Rollout 3/0/3", "PatchesNotEvaluated Unknown 0/0/0"}},
		{"unevaluated patches assumed covered", scenario{mutate: setPatches(clusterv1.ClusterClassPatch{Name: "remote", External: &clusterv1.ExternalPatchDefinition{GeneratePatchesExtension: "gen.ext"}}),
			opts: func(o *Options) { o.AssumeCovered = []string{DiffTemplates} }},
			[]string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "ChangeNotCovered Rollout 3/0/3", "InPlaceUpdate Mixed 1/1/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.sc.plan(t)
			if got := predictions(p); !slices.Equal(got, tt.want) {
				t.Errorf("predictions:\n got  %q\n want %q", got, tt.want)
			}
			for _, s := range p.Steps {
				for _, c := range s.Changes {
					if len(c.Prediction.Reasons) == 0 {
						t.Errorf("step %d %s: no reason", s.Number, c.Object.Name)
					}
				}
			}
		})
	}
}

func TestPredictionTotalsAndBlockers(t *testing.T) {
	p := scenario{}.plan(t)
	if p.Machines == nil || *p.Machines != (MachineCounts{Created: 6, UpdatedInPlace: 5, Deleted: 6, PeakExtra: 1}) {
		t.Errorf("totals %+v", p.Machines)
	}
	if m := p.Steps[2].Machines; m == nil || m.Created != 3 {
		t.Errorf("step 3 totals %+v", m)
	}
	if pr := p.Steps[2].Changes[0].Prediction; pr.Basis != BasisAssumed || !slices.Equal(pr.NotCovered, []string{DiffKubeadmFeatureGates}) || !strings.Contains(pr.Reasons[0], "ControlPlaneKubeletLocalMode") {
		t.Errorf("step 3 prediction %+v", pr)
	}
	stuck := scenario{extensions: [][]string{inPlaceHooks, inPlaceHooks}}.plan(t)
	if stuck.Status != StatusBlocked || stuck.Steps[0].Blockers[0].Rule != RuleManyExtensions {
		t.Errorf("two extensions: status %s, blockers %+v", stuck.Status, stuck.Steps[0].Blockers)
	}
}

func TestDurationFromHistory(t *testing.T) {
	p := scenario{}.plan(t)
	// The fleet's Machines got their node ready 4m20s-6m after creation.
	cp, md := p.Steps[0].Duration, p.Steps[3].Duration
	if cp == nil || md == nil || p.Duration == nil {
		t.Fatalf("estimates missing: %+v %+v %+v", cp, md, p.Duration)
	}
	// 3 control plane Machines one at a time; 2 worker Machines one at a time (maxSurge 1 + maxUnavailable 0).
	if cp.Seconds < 3*4*60 || cp.Seconds > 3*6*60 || md.Seconds < 2*4*60 || md.Seconds > 2*6*60 {
		t.Errorf("step estimates %ds, %ds", cp.Seconds, md.Seconds)
	}
	var sum int64
	for _, s := range p.Steps {
		sum += s.Duration.Seconds
	}
	if p.Duration.Seconds != sum || !strings.Contains(cp.Basis, "median") {
		t.Errorf("total %d, steps %d, basis %q", p.Duration.Seconds, sum, cp.Basis)
	}
	noHistory := scenario{mutate: func(objs fleet.Objects) {
		for _, o := range objs {
			if m, ok := o.(*clusterv1.Machine); ok {
				m.Status.Conditions = nil
			}
		}
	}}.plan(t)
	if noHistory.Duration != nil || noHistory.Steps[0].Duration != nil || (*Estimate)(nil).String() != "no history" {
		t.Errorf("without history: %+v", noHistory.Duration)
	}
	if got := (&Estimate{Seconds: 3725}).String(); got != "about 1h02m" {
		t.Errorf("String() = %q", got)
	}
}

// The most replicas an int32 holds, with a surge of 200% that CAPI's mdutil
// resolves into a wrapped int32, neither overflow the durations nor make a count
// negative; a MachineDeployment without spec.replicas (a snapshot may leave out
// what CAPI's webhook defaults) is planned as CAPI defaults it, 1.
func TestHugeAndMissingCounts(t *testing.T) {
	p := scenario{gates: "InPlaceUpdates=false", mutate: func(objs fleet.Objects) {
		kcpOf(objs).Spec.Replicas = ptr.To(int32(math.MaxInt32))
		md := mdOf(objs)
		md.Spec.Replicas = ptr.To(int32(math.MaxInt32))
		md.Spec.Rollout.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromString("200%"))
	}}.plan(t)
	// The fleet's Machines got their node ready in 4m or more, one at a time.
	const least = int64(math.MaxInt32) * 4 * 60
	var sum int64
	for _, s := range p.Steps {
		for _, c := range s.Changes {
			if n := c.Prediction.Counts; n.Created < 0 || n.UpdatedInPlace < 0 || n.Deleted < 0 || n.PeakExtra < 0 {
				t.Errorf("step %d %s: negative counts %+v", s.Number, c.Object, n)
			}
		}
		if s.Duration != nil {
			if s.Machines != nil && s.Machines.Created > 0 && s.Duration.Seconds < least {
				t.Errorf("step %d: %d Machines in %ds (%s)", s.Number, s.Machines.Created, s.Duration.Seconds, s.Duration)
			}
			sum += s.Duration.Seconds
		}
	}
	if p.Duration == nil || p.Duration.Seconds != sum || p.Duration.Seconds < 2*least || !strings.HasSuffix(p.Duration.String(), "m") || strings.Contains(p.Duration.String(), "-") {
		t.Errorf("total %+v (%s), steps %d", p.Duration, p.Duration, sum)
	}
	if got := (&Estimate{Seconds: math.MaxInt64}).String(); got != "about 2562047788015215h30m" {
		t.Errorf("String() = %q", got)
	}

	p = scenario{gates: "InPlaceUpdates=false", mutate: func(objs fleet.Objects) { mdOf(objs).Spec.Replicas = nil }}.plan(t)
	if got := predictions(p); got[len(got)-1] != "InPlaceUpdatesDisabled Rollout 1/0/1" {
		t.Errorf("without replicas: predictions %v", got)
	}
	// The API server accepts a negative count for a MachineDeployment: a live plan must not count -3 Machines.
	p = scenario{gates: "InPlaceUpdates=false", mutate: func(objs fleet.Objects) { mdOf(objs).Spec.Replicas = ptr.To(int32(-3)) }}.plan(t)
	if got := predictions(p); got[len(got)-1] != "InPlaceUpdatesDisabled Rollout 0/0/0" {
		t.Errorf("negative replicas: predictions %v", got)
	}
}

func TestPendingRollout(t *testing.T) {
	p := scenario{mutate: func(objs fleet.Objects) {
		md := mdOf(objs)
		md.Spec.Template.Spec.InfrastructureRef.Name = "rotated-template"
		md.Spec.Paused = ptr.To(true)
	}}.plan(t)
	var rules []RuleID
	for _, f := range p.Findings {
		if f.Rule == "PendingRollout" || f.Rule == "PausedMachineDeployment" {
			rules = append(rules, f.Rule)
			if !slices.Equal(f.Steps, []int{4}) {
				t.Errorf("%s steps %v", f.Rule, f.Steps)
			}
		}
	}
	slices.Sort(rules)
	if !slices.Equal(rules, []RuleID{RulePausedMachineDeployment, RulePendingRollout}) {
		t.Errorf("findings %v", findingRules(p))
	}
	if slices.Contains(findingRules(scenario{}.plan(t)), "PendingRollout") {
		t.Error("an up-to-date MachineDeployment has a pending rollout")
	}
}

func TestPatchDifferences(t *testing.T) {
	p := scenario{class: fleet.ClassSpec{Patches: true}}.plan(t)
	cp := p.Steps[0].Changes[0].Prediction
	want := []string{DiffVersion, etcdTag, "kubeadmConfig.spec.files"}
	if !slices.Equal(cp.Differences, want) || !slices.Equal(cp.NotCovered, want[1:]) || cp.Basis != BasisAssumed {
		t.Errorf("control plane step 1: differences %v, not covered %v, basis %s", cp.Differences, cp.NotCovered, cp.Basis)
	}
	last := p.Steps[2].Changes[0].Prediction
	if !slices.Contains(last.Differences, DiffKubeadmFeatureGates) || !slices.Contains(last.Differences, etcdTag) {
		t.Errorf("control plane step 3 differences %v", last.Differences)
	}
	if md := p.Steps[3].Changes[0].Prediction; !slices.Equal(md.Differences, []string{DiffVersion}) {
		t.Errorf("the control plane's patches leak into the workers: %v", md.Differences)
	}
	missing := scenario{class: fleet.ClassSpec{Patches: true}, mutate: func(objs fleet.Objects) {
		for _, o := range objs {
			if cc, ok := o.(*clusterv1.ClusterClass); ok {
				cc.Spec.ControlPlane.TemplateRef.Name = "gone"
			}
		}
	}}.plan(t)
	if pr := missing.Steps[0].Changes[0].Prediction; pr.Rule != RulePatchesNotEvaluated || !strings.Contains(pr.Reasons[0], "KubeadmControlPlaneTemplate gone") {
		t.Errorf("missing template: %s %v", pr.Rule, pr.Reasons)
	}
}

func TestCheckCoverable(t *testing.T) {
	for _, ok := range []string{DiffTemplates, DiffKubeadmFeatureGates, etcdTag, "infrastructureMachine.spec.customImage", "spec.failureDomain", "bootstrapConfig.spec"} {
		if err := CheckCoverable(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "kubeadm.spec.files", "status.x", "specs.version"} {
		if err := CheckCoverable(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTopologyVersionBuiltinInChain(t *testing.T) {
	p := scenario{mutate: setPatches(clusterv1.ClusterClassPatch{Name: "image", Definitions: []clusterv1.PatchDefinition{{
		Selector: clusterv1.PatchSelector{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta2", Kind: "DockerMachineTemplate",
			MatchResources: clusterv1.PatchSelectorMatch{ControlPlane: ptr.To(true)}},
		JSONPatches: []clusterv1.JSONPatch{{Op: "add", Path: "/spec/template/spec/customImage", ValueFrom: &clusterv1.JSONPatchValue{Template: "kindest/node:{{ .builtin.cluster.topology.version }}"}}},
	}}})}.plan(t)
	if !slices.Contains(findingRules(p), "TopologyVersionBuiltinInChain") {
		t.Errorf("findings %v", findingRules(p))
	}
	// The image jumps to the target at the first control plane step, then stays.
	if d := p.Steps[0].Changes[0].Prediction.Differences; !slices.Contains(d, "infrastructureMachine.spec.customImage") {
		t.Errorf("step 1 differences %v", d)
	}
	if d := p.Steps[1].Changes[0].Prediction.Differences; slices.Contains(d, "infrastructureMachine.spec.customImage") {
		t.Errorf("step 2 differences %v", d)
	}
}

// answeringAsker stands in for an in-place extension: it answers from fixed
// per-Machine coverage (pure logic; the real asking is tested against a TLS
// extension in test/integration).
type answeringAsker struct {
	machines map[string][]string // control plane Machine -> not covered
	set      []string            // MachineSet -> not covered
}

func (a answeringAsker) CanUpdateMachineSet(context.Context, string, *clusterv1.MachineDeployment, string, TemplateChanges) ([]string, error) {
	return a.set, nil
}

func (a answeringAsker) CanUpdateMachine(context.Context, string, *clusterv1.Cluster, *controlplanev1.KubeadmControlPlane, string, TemplateChanges) (map[string][]string, error) {
	return a.machines, nil
}

func TestAskedPerMachine(t *testing.T) {
	ask := func(machines map[string][]string, set []string) []string {
		return predictions(scenario{opts: func(o *Options) {
			o.InPlaceAsker = answeringAsker{machines: machines, set: set}
			o.AssumeCovered = []string{DiffKubeadmFeatureGates}
		}}.plan(t))
	}
	covered := map[string][]string{"a": nil, "b": nil, "c": nil}
	if got := ask(covered, nil); !slices.Equal(got, []string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/1/1"}) {
		t.Errorf("all covered: %q", got)
	}
	// Two of three Machines not covered: they are replaced, the third updated in place.
	two := map[string][]string{"a": {"kubeadmConfig.spec.files"}, "b": {"kubeadmConfig.spec.files"}, "c": nil}
	if got := ask(two, []string{"spec.failureDomain"}); !slices.Equal(got, []string{"InPlaceUpdate Mixed 2/1/2", "InPlaceUpdate Mixed 2/1/2", "InPlaceUpdate Mixed 2/1/2", "ChangeNotCovered Rollout 2/0/2"}) {
		t.Errorf("two not covered: %q", got)
	}
	all := map[string][]string{"a": {"spec.x"}, "b": {"spec.x"}, "c": {"spec.x"}}
	if got := ask(all, nil); got[0] != "ChangeNotCovered Rollout 3/0/3" {
		t.Errorf("none covered: %q", got)
	}
}

func TestClusterClassDrift(t *testing.T) {
	p := scenario{class: fleet.ClassSpec{Patches: true}, mutate: func(objs fleet.Objects) {
		for _, o := range objs {
			if u, ok := o.(*unstructured.Unstructured); ok && u.GetKind() == "KubeadmControlPlaneTemplate" {
				_ = unstructured.SetNestedField(u.Object, "v=2", "spec", "template", "spec", "kubeadmConfigSpec", "clusterConfiguration", "apiServer", "extraArgs")
			}
		}
	}}.plan(t)
	var drift []Finding
	for _, f := range p.Findings {
		if f.Rule == "PendingClusterClassChange" {
			drift = append(drift, f)
		}
	}
	if len(drift) != 1 || drift[0].Objects[0].Kind != "KubeadmControlPlane" || !slices.Equal(drift[0].Steps, []int{1}) ||
		!strings.Contains(drift[0].Message, "kubeadmConfig.spec.clusterConfiguration.apiServer.extraArgs") {
		t.Errorf("drift findings %+v", drift)
	}
	if slices.Contains(findingRules(scenario{class: fleet.ClassSpec{Patches: true}}.plan(t)), "PendingClusterClassChange") {
		t.Error("a Cluster as the topology controller left it has a pending ClusterClass change")
	}
}

// A MachineDeployment with two worker steps (workers lagging two minors behind a
// chained upgrade) is evaluated step after step.
func TestWorkerPatchOverTwoSteps(t *testing.T) {
	objs := fleet.ClusterClass(fleet.ClassSpec{Namespace: "ns", Name: "class", Versions: []string{"v1.31.14", "v1.32.13", "v1.33.13", "v1.34.3", "v1.35.2"}})
	setPatches(workerImagePatch)(objs)
	objs = append(objs, fleet.Cluster(fleet.ClusterSpec{Namespace: "ns", Name: "c", Class: "class", TopologyVersion: "v1.35.2", ControlPlaneVersion: "v1.34.3", Replicas: 3,
		Workers: []fleet.WorkerSpec{{Name: "md-0", Version: "v1.31.14", Replicas: 3}}})...)
	p := planOne(t, buildState(t, objs), "ns", "c", "v1.35.2", nil)
	n := 0
	for _, s := range p.Steps {
		for _, c := range s.Changes {
			if c.Object.Kind == "MachineDeployment" {
				n++
				if !slices.Contains(c.Prediction.Differences, "infrastructureMachine.spec.customImage") {
					t.Errorf("step %d %s->%s differences %v", s.Number, c.From, c.To, c.Prediction.Differences)
				}
			}
		}
	}
	if n < 2 {
		t.Errorf("the MachineDeployment has %d steps: %s", n, stepsString(p.Steps))
	}
}

// Planning a fleet at once (patch evaluations shared
// between the Clusters of a ClusterClass) gives each Cluster the plan it gets alone.
func TestFleetPlansEqualSinglePlans(t *testing.T) {
	objs := fleet.ClusterClass(fleet.ClassSpec{Namespace: "ns", Name: "class", Versions: chain, Patches: true})
	cc := objs[0].(*clusterv1.ClusterClass)
	cc.Spec.Patches = append(cc.Spec.Patches, workerImagePatch)
	for i, v := range []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.33.4", "v1.34.3", "v1.33.4"} {
		objs = append(objs, fleet.Cluster(fleet.ClusterSpec{Namespace: "ns", Name: fmt.Sprintf("c%d", i), Class: "class", ControlPlaneVersion: v, Replicas: 3, ClassPatches: true,
			Workers: []fleet.WorkerSpec{{Name: "md-0", Version: v, Replicas: 2}}})...)
	}
	objs = append(objs,
		fleet.Controller(fleet.ControllerSpec{Namespace: "capi-system", Name: "capi", Provider: "cluster-api", Image: "capi:v1.14.2", FeatureGates: "InPlaceUpdates=true,RuntimeSDK=true"}),
		fleet.Controller(fleet.ControllerSpec{Namespace: "capi-kubeadm-control-plane-system", Name: "kcp", Provider: "control-plane-kubeadm", Image: "kcp:v1.14.2", FeatureGates: "InPlaceUpdates=true"}),
		fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "ext", Hooks: inPlaceHooks}))
	st := buildState(t, objs)
	target, _ := ParseTarget("v1.36.3")
	opts := Options{Now: testNow, Catalog: testCatalog, AssumeCovered: []string{etcdTag}}
	all, err := Plan(t.Context(), st, Selection{To: target}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range all.Clusters {
		key := types.NamespacedName{Namespace: got.Cluster.Namespace, Name: got.Cluster.Name}
		alone, err := Plan(t.Context(), st, Selection{Cluster: &key, To: target}, opts)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(alone.Clusters[0])
		if string(a) != string(b) {
			t.Errorf("%s: planned with the fleet\n%s\nalone\n%s", key, a, b)
		}
	}
}

// A Machine both ineligible (certificates expiring) and not covered by the
// extension is replaced once.
func TestAskedAndIneligibleCountedOnce(t *testing.T) {
	var names []string
	p := scenario{mutate: func(objs fleet.Objects) {
		kcpOf(objs).Spec.Rollout.Before.CertificatesExpiryDays = 30
		for _, o := range objs {
			if m, ok := o.(*clusterv1.Machine); ok && m.Labels[clusterv1.MachineControlPlaneNameLabel] != "" {
				names = append(names, m.Name)
				if len(names) == 1 {
					m.Status.CertificatesExpiryDate = metav1.NewTime(testNow.AddDate(0, 0, 10))
				}
			}
		}
	}, opts: func(o *Options) {
		o.AssumeCovered = []string{DiffKubeadmFeatureGates}
		o.InPlaceAsker = lazyAsker{names: &names}
	}}.plan(t)
	if got := predictions(p)[0]; got != "InPlaceUpdate Mixed 2/1/2" {
		t.Errorf("step 1: %s", got)
	}
}

// lazyAsker answers that the first two control plane Machines are not covered;
// their names are known once the scenario is built.
type lazyAsker struct{ names *[]string }

func (a lazyAsker) CanUpdateMachineSet(context.Context, string, *clusterv1.MachineDeployment, string, TemplateChanges) ([]string, error) {
	return nil, nil
}

func (a lazyAsker) CanUpdateMachine(context.Context, string, *clusterv1.Cluster, *controlplanev1.KubeadmControlPlane, string, TemplateChanges) (map[string][]string, error) {
	n := *a.names
	return map[string][]string{n[0]: {"spec.x"}, n[1]: {"spec.x"}, n[2]: nil}, nil
}

// failingAsker gets no answer from the extension.
type failingAsker struct{}

func (failingAsker) CanUpdateMachineSet(context.Context, string, *clusterv1.MachineDeployment, string, TemplateChanges) ([]string, error) {
	return nil, errors.New("connection refused")
}

func (failingAsker) CanUpdateMachine(context.Context, string, *clusterv1.Cluster, *controlplanev1.KubeadmControlPlane, string, TemplateChanges) (map[string][]string, error) {
	return nil, errors.New("connection refused")
}

// When asking fails, both kinds keep their assumption, and say so among their
// reasons, also when the assumption is that a difference is not covered.
func TestAskFailedSaysSo(t *testing.T) {
	p := scenario{mutate: setPatches(workerImagePatch), opts: func(o *Options) { o.InPlaceAsker = failingAsker{} }}.plan(t)
	if got, want := predictions(p), []string{"InPlaceUpdate Mixed 1/2/1", "InPlaceUpdate Mixed 1/2/1", "ChangeNotCovered Rollout 3/0/3", "ChangeNotCovered Rollout 2/0/2"}; !slices.Equal(got, want) {
		t.Fatalf("predictions:\n got  %q\n want %q", got, want)
	}
	for _, s := range p.Steps {
		for _, c := range s.Changes {
			pr := c.Prediction
			if pr.AskFailed == "" || !slices.ContainsFunc(pr.Reasons, func(r string) bool { return strings.HasPrefix(r, "asking the extension failed (") }) {
				t.Errorf("step %d %s (%s): askFailed %q, reasons %q", s.Number, c.Object.Name, pr.Rule, pr.AskFailed, pr.Reasons)
			}
		}
	}
}
