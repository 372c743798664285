// Package nomachinepools runs a live read against an API server that does not
// serve every CAPI kind: a missing CRD (here MachinePool) is normal, not an error.
package nomachinepools

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/capi-planner/capi-planner/state/live"
)

func TestMissingCRDIsNormal(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		out, err := exec.Command(filepath.Join("..", "..", "..", "hack", "envtest.sh")).Output()
		if err != nil {
			t.Fatal(err)
		}
		assets = strings.TrimSpace(string(out))
	}
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/cluster-api").Output()
	if err != nil {
		t.Fatal(err)
	}
	opts := &envtest.CRDInstallOptions{Paths: []string{filepath.Join(strings.TrimSpace(string(dir)), "core", "config", "crd", "bases")}}
	if err := envtest.ReadCRDFiles(opts); err != nil {
		t.Fatal(err)
	}
	crds := opts.CRDs
	var without []*apiextensionsv1.CustomResourceDefinition
	for _, crd := range crds {
		if crd.Spec.Names.Kind != "MachinePool" {
			without = append(without, crd)
		}
	}
	if len(without) != len(crds)-1 {
		t.Fatalf("MachinePool CRD not found among %d CRDs", len(crds))
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets, CRDs: without}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()

	res, err := live.Read(context.Background(), cfg, live.Options{})
	if err != nil {
		t.Fatalf("a missing CRD failed the read: %v", err)
	}
	if len(res.Warnings) != 0 || len(res.State.MachinePools) != 0 {
		t.Errorf("warnings %v, %d MachinePools", res.Warnings, len(res.State.MachinePools))
	}
	if len(res.State.Namespaces) == 0 {
		t.Error("the rest was not read")
	}
}
