package planner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/internal/fleet"
	"github.com/capi-planner/capi-planner/internal/supportmatrix"
	"github.com/capi-planner/capi-planner/state"
)

func TestSupportFindings(t *testing.T) {
	controller := func(provider, version string) fleet.Objects {
		return fleet.Objects{fleet.Controller(fleet.ControllerSpec{Namespace: provider + "-system", Name: provider, Provider: provider, Image: "registry.k8s.io/cluster-api/" + provider + ":" + version})}
	}
	tests := []struct {
		name        string
		controllers []fleet.Objects
		current     string
		steps       []Step
		want        []string // provider: steps, message fragment
	}{
		{"supported", []fleet.Objects{controller("cluster-api", "v1.14.2"), controller("control-plane-kubeadm", "v1.14.2")}, "v1.35.2", controlPlaneSteps("v1.36.3", "v1.37.2"), nil},
		{"below the minimum patch", []fleet.Objects{controller("cluster-api", "v1.14.0")}, "v1.35.2", controlPlaneSteps("v1.36.3", "v1.37.2"),
			[]string{"cluster-api [2] Kubernetes v1.37.2 after step 2 (it needs v1.14.1 or newer)"}},
		{"one provider behind", []fleet.Objects{controller("cluster-api", "v1.14.2"), controller("control-plane-kubeadm", "v1.13.0"), controller("bootstrap-kubeadm", "v1.13.0")}, "v1.35.2", controlPlaneSteps("v1.36.3"),
			[]string{"bootstrap-kubeadm [1] the kubeadm bootstrap provider v1.13.0 does not support Kubernetes v1.36.3 after step 1 (it needs v1.13.1 or newer)",
				"control-plane-kubeadm [1] the kubeadm control plane provider v1.13.0"}},
		{"a minor the release never supports, and the current version", []fleet.Objects{controller("cluster-api", "v1.12.8")}, "v1.36.3", controlPlaneSteps("v1.37.2"),
			[]string{"cluster-api [1] Kubernetes v1.37.2 after step 1 (no release of CAPI v1.12 does)"}},
		{"current version too old for the provider", []fleet.Objects{controller("cluster-api", "v1.14.2")}, "v1.30.4", controlPlaneSteps("v1.31.14"),
			[]string{"cluster-api [] Kubernetes v1.30.4 now (no release of CAPI v1.14 does)"}},
		{"a CAPI release the matrix does not know", []fleet.Objects{controller("cluster-api", "v1.99.0")}, "v1.35.2", controlPlaneSteps("v1.37.2"), nil},
		{"controllers not read", nil, "v1.35.2", controlPlaneSteps("v1.37.2"), nil},
		{"not a provider of the matrix", []fleet.Objects{controller("infrastructure-docker", "v1.10.0")}, "v1.35.2", controlPlaneSteps("v1.37.2"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range supportFindings(buildState(t, tt.controllers...), tt.current, tt.steps) {
				if f.Rule != RuleKubernetesVersionUnsupported || len(f.Objects) != 1 {
					t.Fatalf("%+v", f)
				}
				got = append(got, fmt.Sprintf("%s %v %s", f.Objects[0].Name, f.Steps, f.Message))
			}
			matchFindings(t, got, tt.want)
		})
	}
}

func TestManagementVersionFindings(t *testing.T) {
	controller := func(provider, version string) fleet.Objects {
		return fleet.Objects{fleet.Controller(fleet.ControllerSpec{Namespace: provider + "-system", Name: provider, Provider: provider, Image: "registry.k8s.io/cluster-api/" + provider + ":" + version})}
	}
	source := " by CAPI's support matrix (" + supportmatrix.Source + "): "
	tests := []struct {
		name        string
		controllers []fleet.Objects
		management  string   // "" when unknown
		want        []string // object] message fragment
	}{
		{"supported", []fleet.Objects{controller("cluster-api", "v1.14.2")}, "v1.36.3", nil},
		{"workload only", []fleet.Objects{controller("cluster-api", "v1.14.2"), controller("control-plane-kubeadm", "v1.14.2"), controller("bootstrap-kubeadm", "v1.14.2")}, "v1.32.4",
			[]string{"Deployment cluster-api-system/cluster-api] the management cluster runs Kubernetes v1.32.4; the installed core provider, CAPI v1.14.2, supports v1.32 only for workload clusters, not for the management cluster," + source +
				"upgrade the management cluster's Kubernetes, one minor at a time, to v1.33 or newer: CAPI v1.14.2 supports v1.33, v1.34, v1.35, v1.36, v1.37 for the management cluster"}},
		{"workload only, a minor the installed patch does not support left out", []fleet.Objects{controller("cluster-api", "v1.14.0")}, "v1.31.14",
			[]string{"Deployment cluster-api-system/cluster-api] supports v1.31 only for workload clusters, not for the management cluster," + source +
				"upgrade the management cluster's Kubernetes, one minor at a time, to v1.33 or newer: CAPI v1.14.0 supports v1.33, v1.34, v1.35, v1.36 for the management cluster"}},
		{"a distribution's version", []fleet.Objects{controller("cluster-api", "v1.13.2")}, "v1.30.9-eks-113cf36",
			[]string{"Deployment cluster-api-system/cluster-api] the management cluster runs Kubernetes v1.30.9-eks-113cf36; the installed core provider, CAPI v1.13.2, supports v1.30 only for workload clusters"}},
		{"not in the matrix: too old", []fleet.Objects{controller("cluster-api", "v1.14.2")}, "v1.30.4",
			[]string{"Deployment cluster-api-system/cluster-api] CAPI v1.14.2, does not support v1.30 at all (the matrix does not list it for CAPI v1.14)," + source +
				"upgrade the management cluster's Kubernetes, one minor at a time, to v1.33 or newer"}},
		{"below the minimum patch: upgrade CAPI", []fleet.Objects{controller("cluster-api", "v1.13.0")}, "v1.36.3",
			[]string{"Deployment cluster-api-system/cluster-api] CAPI v1.13.0, does not support v1.36: CAPI v1.13.1 or newer does," + source + "upgrade CAPI to v1.13.1 or newer, which supports v1.36 for the management cluster"}},
		{"too new for the CAPI minor: upgrade CAPI", []fleet.Objects{controller("cluster-api", "v1.12.8")}, "v1.37.2",
			[]string{"Deployment cluster-api-system/cluster-api] does not support v1.37 at all (the matrix does not list it for CAPI v1.12)," + source + "upgrade CAPI to v1.13.6 or newer, which supports v1.37 for the management cluster"}},
		{"no way out in the matrix", []fleet.Objects{controller("cluster-api", "v1.14.2")}, "v1.38.0",
			[]string{"Deployment cluster-api-system/cluster-api] does not support v1.38 at all (the matrix does not list it for CAPI v1.14)," + source + "the matrix lists neither a newer CAPI release that supports v1.38 for the management cluster nor a newer Kubernetes minor that CAPI v1.14.2 supports for it"}},
		{"the core provider from clusterctl's Provider", []fleet.Objects{{fleet.Provider("capi-system", "cluster-api", "CoreProvider", "cluster-api", "v1.14.2")}}, "v1.32.4",
			[]string{"Provider capi-system/cluster-api] CAPI v1.14.2, supports v1.32 only for workload clusters"}},
		{"only the core provider is checked", []fleet.Objects{controller("control-plane-kubeadm", "v1.14.2")}, "v1.32.4", nil},
		{"the management cluster's version unknown", []fleet.Objects{controller("cluster-api", "v1.14.2")}, "", nil},
		{"controllers not read", nil, "v1.32.4", nil},
		{"a CAPI release the matrix does not know", []fleet.Objects{controller("cluster-api", "v1.99.0")}, "v1.32.4", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := buildState(t, tt.controllers...)
			if tt.management != "" {
				st.Management = state.NewManagementCluster(tt.management)
			}
			var got []string
			for _, f := range managementVersionFindings(st) {
				if f.Rule != RuleManagementVersionUnsupported || len(f.Objects) != 1 || f.Condition != "" {
					t.Fatalf("%+v", f)
				}
				got = append(got, f.Objects[0].String()+"] "+f.Message)
			}
			matchFindings(t, got, tt.want)
		})
	}
}

// Planning a management cluster that runs a version CAPI supports only for
// workload clusters reports it once in every Cluster's plan, rejected ones
// included, as a warning; a supported or unknown version reports nothing.
func TestManagementVersionInEveryPlan(t *testing.T) {
	core := fleet.Controller(fleet.ControllerSpec{Namespace: "capi-system", Name: "capi-controller-manager", Provider: "cluster-api",
		Image: "registry.k8s.io/cluster-api/cluster-api-controller:v1.14.2", FeatureGates: "ClusterTopology=true,RuntimeSDK=true"})
	objs := []fleet.Objects{
		{core},
		fleet.ClusterClass(fleet.ClassSpec{Namespace: "a", Name: "cc", Versions: chain}),
		fleet.Cluster(fleet.ClusterSpec{Namespace: "a", Name: "one", Class: "cc", ControlPlaneVersion: "v1.33.4", Replicas: 1, Workers: []fleet.WorkerSpec{md("md-0", "v1.33.4")}}),
		fleet.Cluster(fleet.ClusterSpec{Namespace: "b", Name: "two", ControlPlaneVersion: "v1.35.2", Replicas: 1}),
		fleet.Cluster(fleet.ClusterSpec{Namespace: "c", Name: "paused", ControlPlaneVersion: "v1.35.2", Replicas: 1, Paused: true}),
	}
	for _, tt := range []struct {
		management string
		want       int
	}{{"v1.32.9", 1}, {"v1.36.3", 0}, {"", 0}} {
		st := buildState(t, objs...)
		if tt.management != "" {
			st.Management = state.NewManagementCluster(tt.management)
		}
		doc, err := Plan(t.Context(), st, Selection{}, Options{Now: testNow, Catalog: testCatalog})
		if err != nil || len(doc.Clusters) != 3 {
			t.Fatalf("%s: %v", tt.management, err)
		}
		for _, p := range doc.Clusters {
			var got []Finding
			for _, f := range p.Findings {
				if f.Rule == RuleManagementVersionUnsupported {
					got = append(got, f)
				}
			}
			if len(got) != tt.want {
				t.Errorf("management %q, Cluster %s (%s): %d %s findings, want %d", tt.management, p.Cluster.Name, p.Status, len(got), RuleManagementVersionUnsupported, tt.want)
				continue
			}
			for _, f := range got {
				if f.Severity != SeverityWarning || !strings.Contains(f.Message, "runs Kubernetes v1.32.9; the installed core provider, CAPI v1.14.2, supports v1.32 only for workload clusters") ||
					len(f.Objects) != 1 || f.Objects[0] != (ObjectRef{Kind: "Deployment", Namespace: "capi-system", Name: "capi-controller-manager"}) {
					t.Errorf("Cluster %s: %+v", p.Cluster.Name, f)
				}
			}
		}
	}
}
