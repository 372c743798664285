package realcapi

import (
	"context"
	"fmt"
	"testing"

	runtimecatalog "sigs.k8s.io/cluster-api/api/runtime/catalog"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	"sigs.k8s.io/cluster-api/exp/runtime/server"
	"sigs.k8s.io/cluster-api/exp/topology/desiredstate"

	"github.com/capi-planner/capi-planner/internal/capienv"
	"github.com/capi-planner/capi-planner/planner"
)

// serveUpgradePlans runs a GenerateUpgradePlan extension of our own with CAPI's
// runtime server (discovery included) on the box's certificate, answering plans
// through the versions given, and returns its URL.
func serveUpgradePlans(t *testing.T, versions []string) string {
	t.Helper()
	cat := runtimecatalog.New()
	if err := runtimehooksv1.AddToCatalog(cat); err != nil {
		t.Fatal(err)
	}
	port, err := capienv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Catalog: cat, Host: "127.0.0.1", Port: port, CertDir: env.CertDir()})
	if err != nil {
		t.Fatal(err)
	}
	plan := desiredstate.GetUpgradePlanFromClusterClassVersions(versions)
	if err := srv.AddExtensionHandler(server.ExtensionHandler{
		Hook: runtimehooksv1.GenerateUpgradePlan, Name: "plan-through-list",
		HandlerFunc: func(ctx context.Context, req *runtimehooksv1.GenerateUpgradePlanRequest, resp *runtimehooksv1.GenerateUpgradePlanResponse) {
			cp, workers, err := plan(ctx, req.ToKubernetesVersion, req.FromControlPlaneKubernetesVersion, req.FromWorkersKubernetesVersion)
			if err != nil {
				resp.Status, resp.Message = runtimehooksv1.ResponseStatusFailure, err.Error()
				return
			}
			resp.Status = runtimehooksv1.ResponseStatusSuccess
			for _, v := range cp {
				resp.ControlPlaneUpgrades = append(resp.ControlPlaneUpgrades, runtimehooksv1.UpgradeStep{Version: v})
			}
			for _, v := range workers {
				resp.WorkersUpgrades = append(resp.WorkersUpgrades, runtimehooksv1.UpgradeStep{Version: v})
			}
		},
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() { errs <- srv.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-errs })
	return fmt.Sprintf("https://127.0.0.1:%d", port)
}

// A ClusterClass whose versions come from a GenerateUpgradePlan extension,
// registered and discovered by the real core controller, plans live through it
// and the controllers then take exactly those steps.
func TestGenerateUpgradePlanExtension(t *testing.T) {
	url := serveUpgradePlans(t, chain)
	c := smallest()
	c.Versions = nil
	c.UpgradePlanExtension = "plan-through-list.upgradeplans"
	s := scenario{cluster: c, to: "v1.35.2"}
	// Registered before the Cluster: the topology controller asks it at once.
	if _, err := env.RegisterExtension(context.Background(), "upgradeplans", url, nil, []string{"e2e-upgradeplan"}); err != nil {
		t.Fatal(err)
	}
	r := s.run(t, "upgradeplan")
	plan := r.plan(t, []string{"--kubeconfig", env.Kubeconfig}, "--ask-extensions")
	if plan.VersionSource == nil || plan.VersionSource.Type != planner.SourceExtension || plan.Status != planner.StatusPlanned {
		t.Fatalf("the plan does not come from the extension: %+v, %s", plan.VersionSource, plan.Status)
	}
	r.upgrade(t, plan)
	r.compare(t, plan)
}
