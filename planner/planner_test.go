package planner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/fleet"
)

var chain = []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3"}

func md(name, version string) fleet.WorkerSpec {
	return fleet.WorkerSpec{Name: name, Version: version, Replicas: 2}
}

func mp(name, version string) fleet.WorkerSpec {
	return fleet.WorkerSpec{Name: name, Version: version, Replicas: 3, Pool: true}
}

func TestPlanTopology(t *testing.T) {
	lifecycle := fleet.ExtensionConfig(fleet.ExtensionSpec{Name: "lc", Hooks: []string{
		hookBeforeClusterUpgrade, hookBeforeControlPlaneUpgrade, hookAfterControlPlaneUpgrade,
		hookBeforeWorkersUpgrade, hookAfterWorkersUpgrade, hookAfterClusterUpgrade}})
	tests := []struct {
		name       string
		class      fleet.ClassSpec
		cluster    fleet.ClusterSpec
		extra      fleet.Objects
		to         string
		versions   []string
		wantStatus Status
		wantSteps  string
		wantReject []RuleID
		wantFind   []RuleID // the finding rules, sorted
		wantCPPlan []string
		wantWPlan  []string
		check      func(t *testing.T, p ClusterPlan)
	}{
		{
			name:       "chained upgrade through a ClusterClass list",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.33.4", Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}},
			to:         "v1.36.3",
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.34.3 | CP v1.35.2 | CP v1.36.3 | W v1.36.3 md-0",
			wantCPPlan: []string{"v1.34.3", "v1.35.2", "v1.36.3"},
			wantWPlan:  []string{"v1.36.3"},
			wantFind:   []RuleID{"CAPIv112RuntimeSDKOff", "EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:       "semantics table row 1: workers step at the third minor",
			class:      fleet.ClassSpec{Versions: []string{"v1.30.0", "v1.31.1", "v1.32.0", "v1.33.1", "v1.34.1"}},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.30.0", Workers: []fleet.WorkerSpec{md("md-0", "v1.30.0")}},
			to:         "v1.34.1",
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.31.1 | CP v1.32.0 | CP v1.33.1 | W v1.33.1 md-0 | CP v1.34.1 | W v1.34.1 md-0",
			wantCPPlan: []string{"v1.31.1", "v1.32.0", "v1.33.1", "v1.34.1"},
			wantWPlan:  []string{"v1.33.1", "v1.34.1"},
			wantFind:   []RuleID{"CAPIv112RuntimeSDKOff", "EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:       "semantics table row 3: seven minors, workers at 33, 36, 37",
			class:      fleet.ClassSpec{Versions: []string{"v1.30.0", "v1.31.0", "v1.32.0", "v1.33.0", "v1.34.0", "v1.35.0", "v1.36.0", "v1.37.0"}},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.30.0", Workers: []fleet.WorkerSpec{md("md-0", "v1.30.0")}},
			to:         "v1.37.0",
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.31.0 | CP v1.32.0 | CP v1.33.0 | W v1.33.0 md-0 | CP v1.34.0 | CP v1.35.0 | CP v1.36.0 | W v1.36.0 md-0 | CP v1.37.0 | W v1.37.0 md-0",
			wantWPlan:  []string{"v1.33.0", "v1.36.0", "v1.37.0"},
			wantFind:   []RuleID{"CAPIv112RuntimeSDKOff", "EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:  "semantics table row 4: an upgrade in flight with a lagging MachineDeployment",
			class: fleet.ClassSpec{Versions: []string{"v1.29.0", "v1.31.0", "v1.32.0", "v1.33.0", "v1.34.0", "v1.35.0"}},
			cluster: fleet.ClusterSpec{TopologyVersion: "v1.35.0", ControlPlaneVersion: "v1.31.0",
				Workers: []fleet.WorkerSpec{md("old", "v1.29.0"), md("new", "v1.31.0")}},
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.32.0 | W v1.32.0 old,new@2 | CP v1.33.0 | CP v1.34.0 | CP v1.35.0 | W v1.35.0 old,new@2",
			wantWPlan:  []string{"v1.32.0", "v1.35.0"},
			wantFind:   []RuleID{"CAPIv112RuntimeSDKOff", "EndOfLifeUnknown", "UpgradeInFlight", "WorkersCannotScale"},
		},
		{
			name:       "workers behind the control plane catch up before the first control plane step",
			class:      fleet.ClassSpec{Versions: []string{"v1.30.0", "v1.31.0", "v1.32.0", "v1.33.1", "v1.34.1"}},
			cluster:    fleet.ClusterSpec{TopologyVersion: "v1.34.1", ControlPlaneVersion: "v1.33.1", Workers: []fleet.WorkerSpec{md("md-0", "v1.30.0")}},
			extra:      fleet.Objects{lifecycle},
			wantStatus: StatusPlanned,
			wantSteps:  "W v1.33.1 md-0 | CP v1.34.1 | W v1.34.1 md-0",
			check: func(t *testing.T, p ClusterPlan) {
				if len(p.Steps[0].HooksBefore) != 0 || len(p.Steps[0].HooksAfter) != 0 {
					t.Errorf("the catch-up step calls no hook, got %+v / %+v", p.Steps[0].HooksBefore, p.Steps[0].HooksAfter)
				}
				if got := hookList(p.Steps[1].HooksBefore); got != "BeforeClusterUpgrade,BeforeControlPlaneUpgrade" {
					t.Errorf("step 2 hooks before = %s", got)
				}
			},
			wantFind: []RuleID{"EndOfLifeUnknown", "UpgradeInFlight", "WorkersCannotScale"},
		},
		{
			name:       "lifecycle hooks at every point",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.33.4", Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}},
			extra:      fleet.Objects{lifecycle},
			to:         "v1.35.2",
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.34.3 | CP v1.35.2 | W v1.35.2 md-0",
			check: func(t *testing.T, p ClusterPlan) {
				want := []string{
					"BeforeClusterUpgrade,BeforeControlPlaneUpgrade > AfterControlPlaneUpgrade",
					"BeforeControlPlaneUpgrade > AfterControlPlaneUpgrade",
					"BeforeWorkersUpgrade > AfterWorkersUpgrade,AfterClusterUpgrade",
				}
				for i, s := range p.Steps {
					if got := hookList(s.HooksBefore) + " > " + hookList(s.HooksAfter); got != want[i] {
						t.Errorf("step %d hooks = %q, want %q", i+1, got, want[i])
					}
				}
				if h := p.Steps[0].HooksBefore[0].Handlers; !slices.Equal(h, []string{"before-cluster-upgrade.lc"}) {
					t.Errorf("handlers = %v", h)
				}
			},
			wantFind: []RuleID{"CAPIv112RuntimeSDKOff", "EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:  "defer and hold annotations stall the last worker step",
			class: fleet.ClassSpec{Versions: chain},
			cluster: fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", Workers: []fleet.WorkerSpec{
				md("a", "v1.35.2"),
				{Name: "b", Version: "v1.35.2", Replicas: 1, Annotations: map[string]string{clusterv1.ClusterTopologyDeferUpgradeAnnotation: ""}},
				{Name: "c", Version: "v1.35.2", Replicas: 1, Annotations: map[string]string{clusterv1.ClusterTopologyHoldUpgradeSequenceAnnotation: ""}},
				md("d", "v1.35.2"),
			}},
			to:         "v1.36.3",
			wantStatus: StatusBlocked,
			wantSteps:  "CP v1.36.3 | W v1.36.3 a,b@2,c@3,d@4",
			check: func(t *testing.T, p ClusterPlan) {
				b := p.Steps[1].Blockers
				if len(b) != 1 || b[0].Rule != "UpgradeDeferred" || len(b[0].Objects) != 3 {
					t.Fatalf("blockers = %+v", b)
				}
				if !strings.Contains(b[0].Message, "AfterClusterUpgrade is not called") {
					t.Errorf("at the last step the message says the Cluster stays upgrading: %s", b[0].Message)
				}
			},
			wantFind: []RuleID{"EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:  "a deferred worker at an intermediate step holds the control plane",
			class: fleet.ClassSpec{Versions: []string{"v1.30.0", "v1.31.0", "v1.32.0", "v1.33.0", "v1.34.0"}},
			cluster: fleet.ClusterSpec{ControlPlaneVersion: "v1.30.0", Workers: []fleet.WorkerSpec{
				{Name: "a", Version: "v1.30.0", Replicas: 1, Annotations: map[string]string{clusterv1.ClusterTopologyDeferUpgradeAnnotation: ""}},
			}},
			to:         "v1.34.0",
			wantStatus: StatusBlocked,
			wantSteps:  "CP v1.31.0 | CP v1.32.0 | CP v1.33.0 | W v1.33.0 a | CP v1.34.0 | W v1.34.0 a",
			check: func(t *testing.T, p ClusterPlan) {
				if b := p.Steps[3].Blockers; len(b) != 1 || !strings.Contains(b[0].Message, "control plane waits at v1.33.0") {
					t.Errorf("step 4 blockers = %+v", b)
				}
			},
			wantFind: []RuleID{"CAPIv112RuntimeSDKOff", "EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:  "upgrade concurrency and MachinePools in parallel",
			class: fleet.ClassSpec{Versions: chain, MachinePools: true},
			cluster: fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2",
				Annotations: map[string]string{clusterv1.ClusterTopologyUpgradeConcurrencyAnnotation: "2"},
				Workers:     []fleet.WorkerSpec{md("a", "v1.35.2"), md("b", "v1.35.2"), md("c", "v1.35.2"), mp("p", "v1.35.2"), mp("q", "v1.35.2"), mp("r", "v1.35.2")}},
			to:         "v1.36",
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.36.3 | W v1.36.3 a,b,c@2,p,q,r@2",
			wantFind:   []RuleID{"EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:       "a version not in the ClusterClass list is rejected",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.33.4", Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}},
			to:         "v1.36.1",
			wantStatus: StatusRejected,
			wantReject: []RuleID{RuleNotInVersionList},
		},
		{
			name:       "a variable the ClusterClass now requires is missing",
			class:      fleet.ClassSpec{Versions: chain, Variables: true},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.33.4", Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}},
			to:         "v1.34.3",
			wantStatus: StatusRejected,
			wantReject: []RuleID{RuleVariablesInvalid},
			check: func(t *testing.T, p ClusterPlan) {
				// CAPI's own words, from its webhook code.
				if msg := p.Rejections[0].Message; !strings.Contains(msg, `required variable "imageRepository" must be set`) {
					t.Errorf("message: %s", msg)
				}
			},
		},
		{
			name:       "variables that pass the ClusterClass",
			class:      fleet.ClassSpec{Versions: chain, Variables: true},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.33.4", ImageRepository: "registry.example/k8s", Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}},
			to:         "v1.34.3",
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.34.3 | W v1.34.3 md-0",
			wantFind:   []RuleID{"EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:       "a downgrade is rejected",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", Workers: []fleet.WorkerSpec{md("md-0", "v1.35.2")}},
			to:         "v1.34.3",
			wantStatus: StatusRejected,
			wantReject: []RuleID{RuleDowngrade},
		},
		{
			name:       "without a list, one write per minor",
			class:      fleet.ClassSpec{},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.34.3", Workers: []fleet.WorkerSpec{md("md-0", "v1.34.3")}},
			extra:      fleet.Objects{lifecycle},
			to:         "v1.37.2",
			versions:   []string{"v1.35.0", "v1.35.2", "v1.36.3", "v1.37.2"},
			wantStatus: StatusPlanned,
			// Each write is an upgrade of its own: the workers follow at every minor.
			wantSteps:  "CP v1.35.2 | W v1.35.2 md-0 | CP v1.36.3 | W v1.36.3 md-0 | CP v1.37.2 | W v1.37.2 md-0",
			wantFind:   []RuleID{"EndOfLifeUnknown", "OneMinorPerWrite", "WorkersCannotScale"},
			wantCPPlan: []string{"v1.35.2", "v1.36.3", "v1.37.2"},
			check: func(t *testing.T, p ClusterPlan) {
				if p.Trigger != nil {
					t.Errorf("trigger = %+v, want none: the writes are on the steps", p.Trigger)
				}
				var writes []string
				for _, s := range p.Steps {
					for _, c := range s.Changes {
						if c.Patch != nil {
							writes = append(writes, fmt.Sprintf("%d:%s %s->%s", s.Number, c.Patch.Field, c.Patch.From, c.Patch.To))
						}
					}
				}
				want := []string{"1:spec.topology.version v1.34.3->v1.35.2", "3:spec.topology.version v1.35.2->v1.36.3", "5:spec.topology.version v1.36.3->v1.37.2"}
				if !slices.Equal(writes, want) {
					t.Errorf("writes = %v, want %v", writes, want)
				}
				// Every write calls BeforeClusterUpgrade and ends with AfterClusterUpgrade.
				for _, n := range []int{0, 2, 4} {
					if got := hookList(p.Steps[n].HooksBefore); got != "BeforeClusterUpgrade,BeforeControlPlaneUpgrade" {
						t.Errorf("step %d hooks before = %s", n+1, got)
					}
					if got := hookList(p.Steps[n+1].HooksAfter); got != "AfterWorkersUpgrade,AfterClusterUpgrade" {
						t.Errorf("step %d hooks after = %s", n+2, got)
					}
				}
			},
		},
		{
			name:       "without a list, a minor in between with no known release is rejected",
			class:      fleet.ClassSpec{},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", Workers: []fleet.WorkerSpec{md("md-0", "v1.35.2")}},
			to:         "v1.37.2",
			versions:   []string{"v1.35.2", "v1.37.2"},
			wantStatus: StatusRejected,
			wantReject: []RuleID{RuleMoreThanOneMinor},
			check: func(t *testing.T, p ClusterPlan) {
				if len(p.AvailableTargets) != 0 {
					t.Errorf("available targets = %v, want none: v1.37.2 cannot be reached without a v1.36 release", p.AvailableTargets)
				}
			},
		},
		{
			name:       "without a list, latest is the newest version reachable one write per minor",
			class:      fleet.ClassSpec{},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", Workers: []fleet.WorkerSpec{md("md-0", "v1.35.2")}},
			to:         "latest",
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.36.3 | W v1.36.3 md-0 | CP v1.37.2 | W v1.37.2 md-0",
			check: func(t *testing.T, p ClusterPlan) {
				if !slices.Equal(p.AvailableTargets, []string{"v1.36.1", "v1.36.3", "v1.37.2"}) {
					t.Errorf("available targets = %v", p.AvailableTargets)
				}
			},
			wantFind: []RuleID{"EndOfLifeUnknown", RuleOneMinorPerWrite, "WorkersCannotScale"},
		},
		{
			name:       "a new target while the previous upgrade has not landed",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{TopologyVersion: "v1.35.2", ControlPlaneVersion: "v1.34.3", Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}},
			to:         "v1.36.3",
			wantStatus: StatusRejected,
			wantReject: []RuleID{RuleUpgradeInProgress},
		},
		{
			name:       "a control plane still rolling out has not landed",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", ObservedVersion: "v1.34.3", Workers: []fleet.WorkerSpec{md("md-0", "v1.35.2")}},
			to:         "v1.36.3",
			wantStatus: StatusRejected,
			wantReject: []RuleID{RuleUpgradeInProgress},
		},
		{
			name:       "AfterClusterUpgrade still pending",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", Annotations: map[string]string{"runtime.cluster.x-k8s.io/pending-hooks": "AfterClusterUpgrade"}, Workers: []fleet.WorkerSpec{md("md-0", "v1.35.2")}},
			to:         "v1.36.3",
			wantStatus: StatusRejected,
			wantReject: []RuleID{RuleAfterClusterUpgrade},
		},
		{
			name:       "a paused Cluster",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", Paused: true},
			to:         "v1.36.3",
			wantStatus: StatusRejected,
			wantReject: []RuleID{RulePaused},
		},
		{
			name:     "the unsafe annotation skips the update checks",
			class:    fleet.ClassSpec{},
			cluster:  fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", Annotations: map[string]string{clusterv1.ClusterTopologyUnsafeUpdateVersionAnnotation: ""}, Workers: []fleet.WorkerSpec{md("md-0", "v1.35.2")}},
			to:       "v1.37.2",
			versions: []string{"v1.35.2", "v1.36.3", "v1.37.2"},
			// The webhook would let one write through, but CAPI's one-minor plan
			// function cannot plan it: the writes stay one minor each.
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.36.3 | W v1.36.3 md-0 | CP v1.37.2 | W v1.37.2 md-0",
			wantFind:   []RuleID{"EndOfLifeUnknown", "OneMinorPerWrite", "WorkersCannotScale"},
		},
		{
			name:       "an unknown minor",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2"},
			to:         "v1.40",
			wantStatus: StatusRejected,
			wantReject: []RuleID{RuleUnknownTarget},
		},
		{
			name:       "already at the target",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.36.3", Workers: []fleet.WorkerSpec{md("md-0", "v1.36.3")}},
			wantStatus: StatusUpToDate,
			wantSteps:  "",
			wantFind:   []RuleID{"EndOfLifeUnknown"},
		},
		{
			name:       "an extension cannot be called offline",
			class:      fleet.ClassSpec{Extension: "plan.ext"},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.33.4", Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}},
			to:         "v1.36.3",
			wantStatus: StatusNeedsInput,
			wantReject: []RuleID{RuleExtensionNeedsLiveMode},
		},
		{
			name:       "--versions stands in for an extension, without a one-minor ceiling",
			class:      fleet.ClassSpec{Extension: "plan.ext"},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.33.4", Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}},
			to:         "v1.36.3",
			versions:   chain,
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.34.3 | CP v1.35.2 | CP v1.36.3 | W v1.36.3 md-0",
			wantFind:   []RuleID{"CAPIv112RuntimeSDKOff", "EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:       "a before-upgrade hook annotation blocks the start",
			class:      fleet.ClassSpec{Versions: chain},
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", Annotations: map[string]string{clusterv1.BeforeClusterUpgradeHookAnnotationPrefix + "/freeze": ""}, Workers: []fleet.WorkerSpec{md("md-0", "v1.35.2")}},
			to:         "v1.36.3",
			wantStatus: StatusBlocked,
			wantSteps:  "CP v1.36.3 | W v1.36.3 md-0",
			check: func(t *testing.T, p ClusterPlan) {
				if b := p.Steps[0].Blockers; len(b) != 1 || b[0].Rule != "BeforeUpgradeHookAnnotation" {
					t.Errorf("blockers = %+v", b)
				}
			},
			wantFind: []RuleID{"EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:    "a before-upgrade hook annotation does nothing with RuntimeSDK off",
			class:   fleet.ClassSpec{Versions: chain},
			cluster: fleet.ClusterSpec{ControlPlaneVersion: "v1.35.2", Annotations: map[string]string{clusterv1.BeforeClusterUpgradeHookAnnotationPrefix + "/freeze": ""}, Workers: []fleet.WorkerSpec{md("md-0", "v1.35.2")}},
			extra: fleet.Objects{fleet.Controller(fleet.ControllerSpec{Namespace: "capi-system", Name: "capi", Provider: "cluster-api", Image: "capi:v1.14.2",
				FeatureGates: "ClusterTopology=true,RuntimeSDK=false"})},
			to:         "v1.36.3",
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.36.3 | W v1.36.3 md-0",
			wantFind:   []RuleID{"EndOfLifeUnknown", "WorkersCannotScale"},
		},
		{
			name:  "CAPI's nil workers plan is surfaced, not copied",
			class: fleet.ClassSpec{Versions: []string{"v1.30.0", "v1.34.1"}},
			// Only reachable by bypassing the webhooks: workers 4 minors behind, at rest.
			cluster:    fleet.ClusterSpec{ControlPlaneVersion: "v1.34.1", Workers: []fleet.WorkerSpec{md("md-0", "v1.30.0")}},
			wantStatus: StatusRejected,
			wantReject: []RuleID{RuleNoWorkersPlan},
			wantFind:   []RuleID{"UpgradeInFlight"},
		},
		{
			name:  "kubelets older than v1.25 may lag two minors only",
			class: fleet.ClassSpec{Versions: []string{"v1.23.17", "v1.24.17", "v1.25.16", "v1.26.15"}},
			cluster: fleet.ClusterSpec{TopologyVersion: "v1.26.15", ControlPlaneVersion: "v1.25.16",
				Workers: []fleet.WorkerSpec{md("md-0", "v1.23.17")}},
			wantStatus: StatusPlanned,
			wantSteps:  "CP v1.26.15 | W v1.26.15 md-0",
			wantFind:   []RuleID{"EndOfLifeUnknown", "UpgradeInFlight", "VersionSkewPolicy", "WorkersCannotScale"},
			check: func(t *testing.T, p ClusterPlan) {
				for _, f := range p.Findings {
					if f.Rule == "VersionSkewPolicy" && !slices.Equal(f.Steps, []int{1}) {
						t.Errorf("skew violation steps = %v, want [1]", f.Steps)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.class.Namespace, tt.class.Name = "ns", "class"
			tt.cluster.Namespace, tt.cluster.Name, tt.cluster.Class = "ns", "c", "class"
			if tt.cluster.Replicas == 0 {
				tt.cluster.Replicas = 3
			}
			st := buildState(t, fleet.ClusterClass(tt.class), fleet.Cluster(tt.cluster), tt.extra)
			p := planOne(t, st, "ns", "c", tt.to, tt.versions)
			if p.Status != tt.wantStatus {
				t.Fatalf("status = %s, want %s; rejections %+v", p.Status, tt.wantStatus, p.Rejections)
			}
			if got := stepsString(p.Steps); got != tt.wantSteps {
				t.Errorf("steps:\n got  %s\n want %s", got, tt.wantSteps)
			}
			if got := rejectionRules(p); !slices.Equal(got, tt.wantReject) {
				t.Errorf("rejections = %v, want %v (%+v)", got, tt.wantReject, p.Rejections)
			}
			// Exactly these findings, no more: a finding that starts firing
			// where it should not fails the table too.
			if got := slices.Compact(slices.Sorted(slices.Values(findingRules(p)))); !slices.Equal(got, tt.wantFind) {
				t.Errorf("findings %v, want %v", got, tt.wantFind)
			}
			if tt.wantCPPlan != nil && !slices.Equal(p.UpgradePlan.ControlPlane, tt.wantCPPlan) {
				t.Errorf("control plane plan = %v, want %v", p.UpgradePlan.ControlPlane, tt.wantCPPlan)
			}
			if tt.wantWPlan != nil && !slices.Equal(p.UpgradePlan.Workers, tt.wantWPlan) {
				t.Errorf("workers plan = %v, want %v", p.UpgradePlan.Workers, tt.wantWPlan)
			}
			for _, r := range p.Rejections {
				if !strings.Contains(r.Message, "ns/c") {
					t.Errorf("rejection %s does not name the Cluster: %s", r.Rule, r.Message)
				}
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func hookList(hs []Hook) string {
	return strings.Join(pluck(hs, func(h Hook) string { return h.Name }), ",")
}

func TestPlanUnmanaged(t *testing.T) {
	cluster := fleet.ClusterSpec{Namespace: "ns", Name: "c", ControlPlaneVersion: "v1.33.4", Replicas: 3,
		Workers: []fleet.WorkerSpec{md("a", "v1.33.4"), md("b", "v1.32.13")}}
	st := buildState(t, fleet.Cluster(cluster))

	p := planOne(t, st, "ns", "c", "v1.36.3", chain)
	if p.Status != StatusPlanned || p.Mode != ModeUnmanaged {
		t.Fatalf("status %s mode %s: %+v", p.Status, p.Mode, p.Rejections)
	}
	if got, want := stepsString(p.Steps), "CP v1.34.3 | CP v1.35.2 | W v1.35.2 c-a,c-b@2 | CP v1.36.3 | W v1.36.3 c-a,c-b@2"; got != want {
		t.Errorf("steps:\n got  %s\n want %s", got, want)
	}
	for _, s := range p.Steps {
		for _, c := range s.Changes {
			wantField := "spec.template.spec.version"
			if s.Kind == StepControlPlane {
				wantField = "spec.version"
			}
			if c.Patch == nil || c.Patch.Field != wantField || c.Patch.To != s.Version || c.Patch.From != c.From {
				t.Errorf("step %d: patch %+v for change %+v", s.Number, c.Patch, c)
			}
		}
	}

	p = planOne(t, st, "ns", "c", "v1.32.13", chain)
	if !slices.Equal(rejectionRules(p), []RuleID{RuleDowngrade}) {
		t.Errorf("downgrade: %+v", p.Rejections)
	}

	// The catalog is the default version source; a target missing from it is planned as given.
	p = planOne(t, st, "ns", "c", "v1.34.9", nil)
	if p.VersionSource.Type != SourceCatalog || !slices.Contains(findingRules(p), "TargetNotInCatalog") {
		t.Errorf("source %s findings %v", p.VersionSource.Type, findingRules(p))
	}
	if got, want := stepsString(p.Steps), "CP v1.34.9 | W v1.34.9 c-a,c-b@2"; got != want {
		t.Errorf("steps:\n got  %s\n want %s", got, want)
	}
}

// A canceled context stops planning with its error, and no plan.
func TestPlanCanceled(t *testing.T) {
	st := buildState(t, fleet.Cluster(fleet.ClusterSpec{Namespace: "b", Name: "two", ControlPlaneVersion: "v1.35.2", Replicas: 1}))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if doc, err := Plan(ctx, st, Selection{}, Options{Now: testNow, Catalog: testCatalog}); !errors.Is(err, context.Canceled) || doc != nil {
		t.Errorf("Plan = %v, %v", doc, err)
	}
}

func TestPlanSelection(t *testing.T) {
	st := buildState(t,
		fleet.ClusterClass(fleet.ClassSpec{Namespace: "a", Name: "cc", Versions: chain}),
		fleet.Cluster(fleet.ClusterSpec{Namespace: "a", Name: "one", Class: "cc", ControlPlaneVersion: "v1.35.2", Replicas: 1}),
		fleet.Cluster(fleet.ClusterSpec{Namespace: "b", Name: "two", ControlPlaneVersion: "v1.35.2", Replicas: 1}),
	)
	doc, err := Plan(t.Context(), st, Selection{}, Options{Now: testNow, Catalog: testCatalog})
	if err != nil || len(doc.Clusters) != 2 {
		t.Fatalf("every cluster: %v, %d", err, len(doc.Clusters))
	}
	if doc.APIVersion != APIVersion || doc.Kind != Kind || !doc.Metadata.GeneratedAt.Equal(testNow) {
		t.Errorf("document header %+v", doc.Metadata)
	}
	doc, err = Plan(t.Context(), st, Selection{Namespace: "b"}, Options{Now: testNow, Catalog: testCatalog})
	if err != nil || len(doc.Clusters) != 1 || doc.Clusters[0].Cluster.Name != "two" {
		t.Fatalf("namespace b: %v %+v", err, doc)
	}
	_, err = Plan(t.Context(), st, Selection{Namespace: "c"}, Options{Now: testNow, Catalog: testCatalog})
	var notFound *ClusterNotFoundError
	if !errors.As(err, &notFound) || notFound.Namespace != "c" || notFound.Cluster != nil || !slices.Equal(notFound.Have, []string{"a/one", "b/two"}) {
		t.Errorf("unknown namespace: %#v", err)
	}
	gone := types.NamespacedName{Namespace: "a", Name: "gone"}
	if _, err = Plan(t.Context(), st, Selection{Cluster: &gone}, Options{Now: testNow, Catalog: testCatalog}); !errors.As(err, &notFound) || *notFound.Cluster != gone {
		t.Errorf("unknown Cluster: %#v", err)
	}
	planOneErr := func(v []string) error {
		_, err := Plan(t.Context(), st, Selection{}, Options{Now: testNow, Catalog: testCatalog, Versions: v})
		return err
	}
	var invalid *InvalidVersionError
	if err := planOneErr([]string{"v1.35.2", "1.2"}); !errors.As(err, &invalid) || invalid.Value != "1.2" || invalid.Index != 1 {
		t.Errorf("a bad version in the list: %#v", err)
	}
	if _, err := Plan(t.Context(), buildState(t), Selection{}, Options{Now: testNow, Catalog: testCatalog}); err != ErrNoClusters {
		t.Errorf("empty input: %v", err)
	}
}

func TestPlanMissingObjects(t *testing.T) {
	cluster := fleet.Cluster(fleet.ClusterSpec{Namespace: "ns", Name: "c", Class: "gone", ControlPlaneVersion: "v1.35.2", Replicas: 1})
	p := planOne(t, buildState(t, cluster), "ns", "c", "", nil)
	// The advice holds for a snapshot and a live read alike: no -f.
	if p.Status != StatusNeedsInput || !strings.Contains(p.Rejections[0].Message, "ClusterClass ns/gone (spec.topology.classRef) is not in the input: add it to the snapshot, or, if the management cluster does not hold it either, fix spec.topology.classRef") {
		t.Errorf("missing ClusterClass: %s %+v", p.Status, p.Rejections)
	}
	// Only the Cluster: its control plane is missing.
	p = planOne(t, buildState(t, cluster[:1]), "ns", "c", "", nil)
	if p.Status != StatusNeedsInput || !strings.Contains(p.Rejections[0].Message, "KubeadmControlPlane ns/c-control-plane (spec.controlPlaneRef) is not in the input: add it to the snapshot, or, if the management cluster does not hold it either, fix spec.controlPlaneRef") {
		t.Errorf("missing control plane: %s %+v", p.Status, p.Rejections)
	}
	// A Cluster without a control plane reference.
	c := cluster[0].(*clusterv1.Cluster).DeepCopy()
	c.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{}
	p = planOne(t, buildState(t, fleet.Objects{c}), "ns", "c", "", nil)
	if !slices.Equal(rejectionRules(p), []RuleID{RuleNoControlPlane}) {
		t.Errorf("no control plane ref: %+v", p.Rejections)
	}
	// A Cluster being deleted.
	c = cluster[0].(*clusterv1.Cluster).DeepCopy()
	c.DeletionTimestamp = &metav1.Time{Time: testNow}
	p = planOne(t, buildState(t, fleet.Objects{c}), "ns", "c", "", nil)
	if !slices.Contains(rejectionRules(p), RuleDeleting) {
		t.Errorf("deleting: %+v", p.Rejections)
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]Target{
		"":             {Kind: TargetNewest},
		"latest":       {Kind: TargetLatest, Raw: "latest"},
		"v1.36":        {Kind: TargetMinor, Raw: "v1.36", Major: 1, Minor: 36},
		"1.36":         {Kind: TargetMinor, Raw: "1.36", Major: 1, Minor: 36},
		"v1.36.3":      {Kind: TargetExact, Raw: "v1.36.3", Version: "v1.36.3"},
		"1.36.3":       {Kind: TargetExact, Raw: "1.36.3", Version: "v1.36.3"},
		"v1.36.0-rc.1": {Kind: TargetExact, Raw: "v1.36.0-rc.1", Version: "v1.36.0-rc.1"},
	} {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"newest", "v1", "v1.36.3.4", "vv1.36", "1.36.x", " v1.36"} {
		var invalid *InvalidTargetError
		if _, err := ParseTarget(bad); !errors.As(err, &invalid) || invalid.Value != bad {
			t.Errorf("ParseTarget(%q) = %v, want an InvalidTargetError", bad, err)
		}
	}
}

func TestStepRanges(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{{[]int{3}, "step 3"}, {[]int{1, 2, 3, 4}, "steps 1-4"}, {[]int{1, 2, 5}, "steps 1-2, 5"}, {[]int{1, 3}, "steps 1, 3"}} {
		if got := StepRanges(tc.in); got != tc.want {
			t.Errorf("StepRanges(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTargetOutsideTheCatalogIsNotReportedAsPartOfIt(t *testing.T) {
	st := buildState(t, fleet.Cluster(fleet.ClusterSpec{Namespace: "ns", Name: "c", ControlPlaneVersion: "v1.33.4", Replicas: 3}))
	p := planOne(t, st, "ns", "c", "v1.34.9", nil)
	if slices.Contains(p.VersionSource.Versions, "v1.34.9") || p.Target != "v1.34.9" || len(p.Steps) != 1 {
		t.Errorf("source %v, target %s, steps %d", p.VersionSource.Versions, p.Target, len(p.Steps))
	}
}

// The topology controller does not reconcile a Cluster whose ClusterClass is not
// reconciled itself, so nothing would move: the plan must say so.
func TestClusterClassNotReconciled(t *testing.T) {
	for name, mutate := range map[string]func(cc *clusterv1.ClusterClass){
		"no status":         func(cc *clusterv1.ClusterClass) { cc.Status = clusterv1.ClusterClassStatus{} },
		"generation behind": func(cc *clusterv1.ClusterClass) { cc.Generation = 2 },
		"variables not ready": func(cc *clusterv1.ClusterClass) {
			cc.Status.Conditions[0].Status, cc.Status.Conditions[0].Reason = metav1.ConditionFalse, "VariableDiscoveryFailed"
		},
	} {
		t.Run(name, func(t *testing.T) {
			class := fleet.ClassSpec{Namespace: "ns", Name: "class", Versions: chain}
			cluster := fleet.ClusterSpec{Namespace: "ns", Name: "c", Class: "class", Replicas: 3, ControlPlaneVersion: "v1.33.4", Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}}
			st := buildState(t, fleet.ClusterClass(class), fleet.Cluster(cluster))
			mutate(st.ClusterClasses[0])
			p := planOne(t, st, "ns", "c", "v1.36.3", nil)
			if p.Status != StatusRejected || !slices.Equal(rejectionRules(p), []RuleID{RuleClassNotReconciled}) {
				t.Fatalf("status %s, rejections %+v", p.Status, p.Rejections)
			}
		})
	}
}
