package realcapi

import (
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
func TestInPlaceRefused(t *testing.T) {
	r := scenario{cluster: doneWhen(), to: "v1.36.3", ext: capienv.ExtensionOptions{RefuseInPlace: true}}.run(t, "refused")
	plan := r.plans(t)
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			if p := ch.Prediction; p == nil || p.Counts.UpdatedInPlace != 0 {
				t.Errorf("step %d %s: predicted in place: %+v", s.Number, ch.Object.Name, p)
			}
		}
	}
	r.upgrade(t, plan)
	r.compare(t, plan)
}
