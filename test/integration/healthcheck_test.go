package integration

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// A MachineHealthCheck remediating the control plane is read live (by a user
// bound only to config/rbac/role.yaml) and reported on the control plane's steps.
func TestMachineHealthCheckRemediatingLive(t *testing.T) {
	ctx := context.Background()
	mhc := &clusterv1.MachineHealthCheck{ObjectMeta: metav1.ObjectMeta{Namespace: "observability", Name: "metrics-control-plane"}}
	mhc.Spec.ClusterName = "metrics"
	mhc.Spec.Selector = metav1.LabelSelector{MatchLabels: map[string]string{clusterv1.MachineControlPlaneLabel: ""}}
	mhc.Spec.Checks.UnhealthyNodeConditions = []clusterv1.UnhealthyNodeCondition{{Type: "Ready", Status: "Unknown", TimeoutSeconds: ptr.To[int32](300)}}
	if err := client.Create(ctx, mhc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Delete(context.Background(), mhc) })
	mhc.Status.ExpectedMachines, mhc.Status.CurrentHealthy = ptr.To[int32](3), ptr.To[int32](2)
	if err := client.Status().Update(ctx, mhc); err != nil {
		t.Fatal(err)
	}
	kubeconfig := userKubeconfig(t, "healthcheck-reader", readerRole(t))
	findings := liveFindings(t, kubeconfig, "observability/metrics")
	for _, f := range findings {
		if f.Rule == "MachineHealthCheckRemediating" {
			if !strings.Contains(f.Message, "MachineHealthCheck observability/metrics-control-plane counts 1 of 3 Machines unhealthy") || len(f.Steps) == 0 {
				t.Errorf("the finding: %+v", f)
			}
			return
		}
	}
	t.Errorf("no MachineHealthCheckRemediating finding: %+v", findings)
}
