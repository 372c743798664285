package planner

import (
	"fmt"
	"testing"

	"github.com/capi-planner/capi-planner/internal/fleet"
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
