// Package integration runs capi-planner against a real kube-apiserver and etcd
// (controller-runtime's envtest) loaded with the CAPI v1.14.2 CRDs. One API
// server is shared by the whole package.
package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/internal/testutil/clitest"
	"github.com/capi-planner/capi-planner/internal/testutil/peakrss"
	"github.com/capi-planner/capi-planner/state"
	"github.com/capi-planner/capi-planner/state/snapshot"
)

var (
	env    *envtest.Environment
	cfg    *rest.Config
	client ctrlclient.Client
	// binary is the capi-planner binary built for the package.
	binary string
	// adminKubeconfig is a kubeconfig for the envtest admin.
	adminKubeconfig string
	root            = filepath.Join("..", "..")
)

func TestMain(m *testing.M) {
	peakrss.Main()
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		// Build (once, cached outside the checkout) or find the pinned binaries.
		out, err := exec.Command(filepath.Join(root, "hack", "envtest.sh")).Output()
		if err != nil {
			return 0, fmt.Errorf("hack/envtest.sh: %w", err)
		}
		assets = strings.TrimSpace(string(out))
	}
	capiDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/cluster-api").Output()
	if err != nil {
		return 0, fmt.Errorf("locating the CAPI module: %w", err)
	}
	dir := strings.TrimSpace(string(capiDir))
	tmp, err := os.MkdirTemp("", "capi-planner-integration")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		ErrorIfCRDPathMissing: true,
		CRDDirectoryPaths: []string{
			filepath.Join(dir, "core", "config", "crd", "bases"),
			filepath.Join(dir, "controlplane", "kubeadm", "config", "crd", "bases"),
			filepath.Join(dir, "bootstrap", "kubeadm", "config", "crd", "bases"),
			filepath.Join(dir, "cmd", "clusterctl", "config", "crd", "bases"),
		},
		CRDs: infrastructureCRDs(),
	}
	if cfg, err = env.Start(); err != nil {
		return 0, fmt.Errorf("starting envtest: %w", err)
	}
	defer func() { _ = env.Stop() }()
	if client, err = ctrlclient.New(cfg, ctrlclient.Options{Scheme: scheme.New()}); err != nil {
		return 0, err
	}
	if adminKubeconfig, err = writeKubeconfig(tmp, "admin", env.KubeConfig); err != nil {
		return 0, err
	}
	if binary, err = clitest.Build(root, tmp); err != nil {
		return 0, err
	}
	if err := loadFixtures(context.Background()); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

func writeKubeconfig(dir, name string, data []byte) (string, error) {
	p := filepath.Join(dir, name+".kubeconfig")
	return p, os.WriteFile(p, data, 0o600)
}

// infrastructureCRDs are minimal CRDs for the Docker provider kinds the tests
// use (its real CRDs are in the CAPI test module, which this project does not import).
func infrastructureCRDs() []*apiextensionsv1.CustomResourceDefinition {
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, kind := range []string{"DockerClusterTemplate", "DockerMachineTemplate", "DockerMachinePoolTemplate", "DockerMachine"} {
		plural := strings.ToLower(kind) + "s"
		preserve := true
		out = append(out, &apiextensionsv1.CustomResourceDefinition{
			// The contract label tells CAPI's code which version implements the v1beta2 contract.
			ObjectMeta: metav1.ObjectMeta{Name: plural + ".infrastructure.cluster.x-k8s.io", Labels: map[string]string{"cluster.x-k8s.io/v1beta2": "v1beta2"}},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "infrastructure.cluster.x-k8s.io",
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind)},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1beta2", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: &preserve,
					}},
				}},
			},
		})
	}
	return out
}

// loadFixtures creates every fixture's objects, read with the snapshot reader
// (so v1beta1 fixtures arrive in v1beta2), status included.
func loadFixtures(ctx context.Context) error {
	st, err := snapshot.Read(ctx, []string{filepath.Join(root, "fixtures")}, snapshot.Options{})
	if err != nil {
		return err
	}
	return create(ctx, st)
}

// create creates every object of a state, then writes its status.
func create(ctx context.Context, st *state.State) error {
	for _, o := range snapshot.Objects(st) {
		obj, ok := o.DeepCopyObject().(ctrlclient.Object)
		if !ok {
			return fmt.Errorf("%T is not a client.Object", o)
		}
		gvk, err := apiutil.GVKForObject(obj, client.Scheme())
		if err != nil {
			return err
		}
		status := statusOf(obj)
		obj.SetResourceVersion("")
		obj.SetUID("")
		obj.SetCreationTimestamp(metav1.Time{})
		if err := client.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s/%s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), err)
		}
		if status == nil {
			continue
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		u.Object["status"] = status
		if err := client.Status().Update(ctx, u); err != nil {
			return fmt.Errorf("updating the status of %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	return nil
}

func statusOf(obj runtime.Object) any {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil
	}
	s, ok := m["status"].(map[string]any)
	if !ok || len(s) == 0 {
		return nil
	}
	return s
}
