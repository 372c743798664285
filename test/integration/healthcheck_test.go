package integration

import (
	"context"
	"encoding/json"
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
	r := capiPlanner(t, "plan", "--kubeconfig", kubeconfig, "--cluster", "observability/metrics", "--versions", versions, "-o", "json")
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var doc struct {
		Clusters []struct {
			Findings []struct {
				Rule    string `json:"rule"`
				Message string `json:"message"`
				Steps   []int  `json:"steps"`
			} `json:"findings"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || len(doc.Clusters) != 1 {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	for _, f := range doc.Clusters[0].Findings {
		if f.Rule == "MachineHealthCheckRemediating" {
			if !strings.Contains(f.Message, "MachineHealthCheck observability/metrics-control-plane counts 1 of 3 Machines unhealthy") || len(f.Steps) == 0 {
				t.Errorf("the finding: %+v", f)
			}
			return
		}
	}
	t.Errorf("no MachineHealthCheckRemediating finding:\n%s", r.Stdout)
}
