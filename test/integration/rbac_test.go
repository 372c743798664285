package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/capi-planner/capi-planner/internal/fleet"
)

// userKubeconfig creates a user bound to role and returns its kubeconfig.
func userKubeconfig(t *testing.T, name string, role *rbacv1.ClusterRole) string {
	t.Helper()
	ctx := context.Background()
	user, err := env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	role = role.DeepCopy()
	role.Name = name
	if err := client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: name, APIGroup: "rbac.authorization.k8s.io"}},
	}
	if err := client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path, err := writeKubeconfig(t.TempDir(), name, data)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func readRole(t *testing.T, file string) *rbacv1.ClusterRole {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "config", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	role := &rbacv1.ClusterRole{}
	if err := yaml.NewYAMLOrJSONDecoder(f, 4096).Decode(role); err != nil {
		t.Fatal(err)
	}
	return role
}

func readerRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	role := readRole(t, "role.yaml")
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if v != "get" && v != "list" {
				t.Errorf("config/rbac/role.yaml grants %q", v)
			}
		}
		for _, res := range r.Resources {
			if res == "secrets" || strings.HasPrefix(res, "nodes") {
				t.Errorf("config/rbac/role.yaml grants %s", res)
			}
		}
	}
	return role
}

// A user bound only to config/rbac/role.yaml plans as the admin does, without warnings.
func TestPlanWithReadOnlyRole(t *testing.T) {
	kubeconfig := userKubeconfig(t, "planner", readerRole(t))
	for _, ns := range []string{"prod", "payments"} {
		args := []string{"plan", "-n", ns, "--versions", versions, "-o", "json"}
		asUser := capiPlanner(t, append(args, "--kubeconfig", kubeconfig)...)
		asAdmin := capiPlanner(t, append(args, "--kubeconfig", adminKubeconfig)...)
		if asUser.Code != 0 || asUser.Stderr != "" {
			t.Errorf("%s: exit %d, stderr:\n%s", ns, asUser.Code, asUser.Stderr)
		}
		if !reflect.DeepEqual(planJSON(t, asUser), planJSON(t, asAdmin)) {
			t.Errorf("%s: the restricted user's plan differs:\n%s\n%s", ns, asUser.Stdout, asAdmin.Stdout)
		}
	}
	// snapshot needs nothing more.
	r := capiPlanner(t, "snapshot", "--kubeconfig", kubeconfig, "-A", "-o", filepath.Join(t.TempDir(), "s.yaml"))
	if r.Code != 0 || strings.Contains(r.Stderr, "forbidden") {
		t.Errorf("snapshot as the restricted user: %d %s", r.Code, r.Stderr)
	}
	// The API server itself denies the role Secrets and the nodes/proxy subresource.
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets("prod").List(context.Background(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing Secrets as the restricted user: %v, want forbidden", err)
	}
	if _, err := cs.CoreV1().Secrets("").List(context.Background(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing Secrets in every namespace as the restricted user: %v, want forbidden", err)
	}
	if err := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/any/proxy/pods").Do(context.Background()).Error(); !apierrors.IsForbidden(err) {
		t.Errorf("nodes/proxy as the restricted user: %v, want forbidden", err)
	}
}

// A kind the user may not list is a warning naming the permission and what the plan loses.
func TestForbiddenKindIsAWarning(t *testing.T) {
	role := readerRole(t)
	for i, r := range role.Rules {
		if len(r.APIGroups) == 1 && r.APIGroups[0] == "cluster.x-k8s.io" {
			role.Rules[i].Resources = []string{"clusters", "clusterclasses", "machinedeployments", "machinesets", "machines"}
		}
	}
	kubeconfig := userKubeconfig(t, "no-machinepools", role)
	r := capiPlanner(t, "plan", "--kubeconfig", kubeconfig, "--cluster", "batch/jobs", "--to", "v1.36.3")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	want := "forbidden to list machinepools.cluster.x-k8s.io in namespace batch: MachinePools are missing from the worker steps"
	if !strings.Contains(r.Stderr, want) {
		t.Errorf("stderr does not contain %q:\n%s", want, r.Stderr)
	}
	if strings.Contains(r.Stdout, "MachinePool jobs-") || strings.Contains(r.Stdout, "WorkerPendingCreate") {
		t.Errorf("the plan shows MachinePools it could not read, or takes them for missing:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, "[KindNotRead] MachinePool objects could not be read") {
		t.Errorf("the plan does not say it left MachinePools out:\n%s", r.Stdout)
	}
}

// Live, the reader role is enough to tell who may get nodes/proxy: the fixture's
// monitoring ServiceAccount and a binding made here are reported, the API
// server's kubelet client, system:masters and the bootstrap policy's
// controllers are not.
func TestNodesProxyExposureLive(t *testing.T) {
	ctx := context.Background()
	role := fleet.ClusterRole("debug-nodes", fleet.Rule([]string{"get"}, []string{""}, []string{"nodes/proxy"}))
	binding := fleet.ClusterRoleBinding("debug-nodes", "debug-nodes", fleet.ServiceAccount("ci", "deployer"))
	for _, o := range []ctrlclient.Object{role, binding} {
		if err := client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := client.Delete(context.Background(), o); err != nil {
				t.Error(err)
			}
		})
	}
	kubeconfig := userKubeconfig(t, "exposure-reader", readerRole(t))
	findings := liveFindings(t, kubeconfig, "observability/metrics")
	var got []string
	for _, f := range findings {
		if f.Rule == "NodesProxyExposure" {
			got = append(got, f.Objects[0].Kind+" "+f.Objects[0].Namespace+"/"+f.Objects[0].Name)
		}
	}
	if want := []string{"ServiceAccount ci/deployer", "ServiceAccount monitoring/prometheus"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NodesProxyExposure for %v, want %v\n%+v", got, want, findings)
	}
}

// liveFinding is a finding as a test reads it from plan -o json.
type liveFinding struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
	Steps   []int  `json:"steps"`
	Objects []struct {
		Kind, Namespace, Name string
	} `json:"objects"`
}

// liveFindings plans the Cluster (NAMESPACE/NAME) live with the kubeconfig and
// returns its findings; the plan must succeed without a warning.
func liveFindings(t *testing.T, kubeconfig, cluster string) []liveFinding {
	t.Helper()
	r := capiPlanner(t, "plan", "--kubeconfig", kubeconfig, "--cluster", cluster, "--versions", versions, "-o", "json")
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var doc struct {
		Clusters []struct {
			Findings []liveFinding `json:"findings"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || len(doc.Clusters) != 1 {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	return doc.Clusters[0].Findings
}
