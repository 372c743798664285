// Package e2e runs the built capi-planner binary the way users and CI do.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/internal/testutil/clitest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "capi-planner-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = clitest.Build("../..", dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, stdin string, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, binary, "../..", stdin, args...)
}

const chain = "v1.31.14,v1.32.13,v1.33.4,v1.34.3,v1.35.2,v1.35.4,v1.36.1,v1.36.3,v1.37.2"

// Every fixture plans as the semantics reference says CAPI would.
func TestFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		args    []string
		code    int
		want    []string
	}{
		{"topology-versions", []string{"--to", "v1.36.3"}, 0, []string{
			"Status             Planned (4 steps)",
			"1     ControlPlane  KubeadmControlPlane web-control-plane  v1.33.4  v1.34.3",
			"3     ControlPlane  KubeadmControlPlane web-control-plane  v1.35.2  v1.36.3",
			"4     Workers       MachineDeployment web-md-0 (md-0)      v1.33.4  v1.36.3  1",
			"hooks before: BeforeClusterUpgrade (before-cluster-upgrade.lifecycle)",
			"AfterClusterUpgrade (after-cluster-upgrade.lifecycle)",
		}},
		{"topology-one-minor", []string{"--to", "latest"}, 0, []string{"OneMinor", "Available targets  v1.36.1, v1.36.3, v1.37.2", "Planned (4 steps)", "[OneMinorPerWrite]"}},
		// Terraform's detailed exit code: 2 when an upgrade is planned, 0 at the target.
		{"topology-one-minor", []string{"--to", "latest", "--detailed-exitcode"}, 2, []string{"Planned (4 steps)"}},
		{"topology-one-minor", []string{"--to", "v1.35.4", "--detailed-exitcode"}, 0, []string{"UpToDate"}},
		{"topology-extension", nil, 1, nil},
		{"topology-extension", []string{"--to", "v1.36.3"}, 0, []string{"GenerateUpgradePlanExtension", "Planned (4 steps)"}},
		{"unmanaged", []string{"--to", "v1.36"}, 0, []string{
			"Mode               Unmanaged",
			"3     Workers       MachineDeployment db-md-a             v1.33.4   v1.35.4  1",
			"MachineDeployment legacy/db-md-b spec.template.spec.version: v1.32.13 -> v1.35.4",
		}},
		{"machinepools", []string{"--to", "v1.36.3"}, 0, []string{"MachinePool jobs-mp-1 (mp-1)", "MachineDeployment jobs-md-2 (md-2)      v1.33.4  v1.36.3  2"}},
		{"workers-lagging", nil, 0, []string{"1     Workers       MachineDeployment checkout-md-0 (md-0)      v1.31.14  v1.34.3  1", "already under way"}},
		{"defer-hold", []string{"--to", "v1.36.3"}, 0, []string{"Blocked (3 steps)", "BLOCKED [UpgradeDeferred]"}},
		{"fleet", nil, 1, []string{"team-a/beta     Topology   v1.35.2  -", "Rejected  ClusterPaused", "6 clusters"}},
		{"nodes-proxy", []string{"--to", "latest"}, 0, []string{"WARNING [NodesProxyExposure] ServiceAccount monitoring/prometheus may call the kubelets' API (nodes/proxy) in the management cluster, through ClusterRoleBinding prometheus"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+strings.Join(tt.args, ""), func(t *testing.T) {
			args := append([]string{"plan", "-f", "fixtures/" + tt.fixture}, tt.args...)
			if tt.fixture != "topology-extension" || len(tt.args) > 0 {
				args = append(args, "--versions", chain)
			}
			r := run(t, "", args...)
			if r.Code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.Code, tt.code, r.Stdout, r.Stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, r.Stdout)
				}
			}
			// JSON for every fixture, and the same exit code.
			j := run(t, "", append(args, "-o", "json")...)
			var doc struct {
				APIVersion string
				Clusters   []struct{ Status string }
			}
			if err := json.Unmarshal([]byte(j.Stdout), &doc); err != nil || doc.APIVersion != "capi-planner.io/v1alpha1" || len(doc.Clusters) == 0 {
				t.Errorf("-o json: %v %+v\n%s", err, doc, j.Stdout)
			}
			if j.Code != tt.code {
				t.Errorf("-o json exit code %d, want %d", j.Code, tt.code)
			}
		})
	}
}

func TestStdinAndYAML(t *testing.T) {
	data, err := os.ReadFile("../../fixtures/topology-one-minor/snapshot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, string(data), "plan", "-f", "-", "--cluster", "staging/api", "--to", "v1.36.3", "-o", "yaml", "--versions", chain)
	if r.Code != 0 || !strings.Contains(r.Stdout, "kind: UpgradePlan") || !strings.Contains(r.Stdout, "status: Planned") {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r.Stderr != "" {
		t.Errorf("a successful plan logs nothing on stderr: %s", r.Stderr)
	}
}

// Bad input gets one line on stderr naming the object or file, the rule and
// what to do, and exit code 1.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	malformed := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(malformed, []byte("apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata:\n  name: [x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	versionsFile := filepath.Join(dir, "versions.txt")
	if err := os.WriteFile(versionsFile, []byte("v1.36.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"malformed YAML", []string{"-f", malformed}, []string{"broken.yaml:4", "document 1", "malformed YAML"}},
		{"unknown cluster", []string{"-f", "fixtures/fleet", "--cluster", "team-a/nope"}, []string{"cluster team-a/nope not found", "team-a/alpha", "--cluster"}},
		{"downgrade", []string{"-f", "fixtures/defer-hold", "--to", "v1.33.4"}, []string{"[Downgrade]", "Cluster payments/ledger", "choose a target of v1.34.3 or newer"}},
		{"not in the list", []string{"-f", "fixtures/topology-versions", "--to", "v1.36.1"}, []string{"[NotInClusterClassVersions]", "prod/quick-start", "pick one of them"}},
		{"more than one minor, none known in between", []string{"-f", "fixtures/topology-one-minor", "--to", "v1.37.2", "--versions", "v1.35.4,v1.37.2"}, []string{"[MoreThanOneMinor]", "upgrade to v1.36 first"}},
		{"garbage --to", []string{"-f", "fixtures/topology-versions", "--to", "banana"}, []string{`invalid --to "banana"`, "v1.36.3"}},
		{"conflicting namespaces", []string{"-f", "fixtures/fleet", "-n", "team-a", "-A"}, []string{"conflicting flags -n/--namespace and -A/--all-namespaces"}},
		{"conflicting versions", []string{"-f", "fixtures/fleet", "--versions", "v1.36.3", "--versions-file", versionsFile}, []string{"conflicting flags --versions and --versions-file"}},
		{"conflicting cluster", []string{"-f", "fixtures/fleet", "--cluster", "team-a/alpha", "-n", "team-b"}, []string{"conflicting flags --cluster team-a/alpha and -n team-b"}},
		{"bad --cluster", []string{"-f", "fixtures/fleet", "--cluster", "alpha"}, []string{"expected NAMESPACE/NAME"}},
		{"bad -o", []string{"-f", "fixtures/fleet", "-o", "xml"}, []string{`invalid -o "xml"`}},
		{"no input", nil, []string{"no input", "-f"}},
		{"missing file", []string{"-f", "fixtures/nope.yaml"}, []string{"fixtures/nope.yaml", "no such file"}},
		{"bad --versions", []string{"-f", "fixtures/fleet", "--versions", "v1.36.3,latest"}, []string{`invalid version "latest" in --versions`}},
		{"snapshot and live", []string{"-f", "fixtures/fleet", "--kubeconfig", versionsFile}, []string{"conflicting flags -f and --kubeconfig"}},
		{"bad kubeconfig", []string{"--kubeconfig", versionsFile}, []string{"cannot load --kubeconfig", "versions.txt"}},
		{"bad selector", []string{"-f", "fixtures/fleet", "-l", "a in ("}, []string{`invalid -l "a in ("`}},
		{"selector matches nothing", []string{"-f", "fixtures/fleet", "-l", "env=nowhere"}, []string{"no Cluster matches -l env=nowhere", "6 Clusters read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"plan"}, tt.args...)...)
			if r.Code != 1 {
				t.Fatalf("exit code %d, want 1\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") {
				t.Errorf("want one error line on stderr, got:\n%s", r.Stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr does not contain %q: %s", w, r.Stderr)
				}
			}
			if r.Stdout != "" {
				t.Errorf("nothing on stdout for a single failed plan, got:\n%s", r.Stdout)
			}
		})
	}
}

// --fail-on=replace exits 3 and lists every step and object that would replace Machines.
func TestFailOnReplace(t *testing.T) {
	r := run(t, "", "plan", "-f", "fixtures/topology-versions", "--to", "v1.36.3", "--fail-on", "replace")
	if r.Code != 3 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	want := []string{
		"policy: Cluster prod/web step 1: KubeadmControlPlane prod/web-control-plane replaces Machines (3 created, 3 deleted) [ChangeNotCovered]",
		"policy: Cluster prod/web step 3: KubeadmControlPlane prod/web-control-plane replaces Machines (3 created, 3 deleted) [ChangeNotCovered]",
		"policy: Cluster prod/web step 4: MachineDeployment prod/web-md-0 replaces Machines (1 created, 1 deleted) [InPlaceUpdate]",
	}
	for _, w := range want {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr does not contain %q:\n%s", w, r.Stderr)
		}
	}
	if !strings.Contains(r.Stdout, "Rollout: 3 new, 0 in place, 3 deleted (assumed)") {
		t.Errorf("the plan is still written:\n%s", r.Stdout)
	}
	// Restricted to a name no object has: an error, not a silent pass.
	r = run(t, "", "plan", "-f", "fixtures/topology-versions", "--to", "v1.35.2", "--fail-on", "replace:nothing-by-that-name")
	if r.Code != 1 || !strings.Contains(r.Stderr, `no MachineDeployment, MachinePool or control plane in the input is named "nothing-by-that-name"`) {
		t.Errorf("--fail-on naming nothing: exit %d\n%s", r.Code, r.Stderr)
	}
	// With the gate off on the command line, everything is a rollout.
	r = run(t, "", "plan", "-f", "fixtures/topology-versions", "--to", "v1.36.3", "--feature-gates", "InPlaceUpdates=false", "-o", "json")
	if r.Code != 0 || strings.Count(r.Stdout, `"verdict": "Rollout"`) != 4 {
		t.Errorf("gate off: exit %d\n%s", r.Code, r.Stdout)
	}
	for _, bad := range [][]string{{"--fail-on", "delete"}, {"--feature-gates", "InPlaceUpdates"}, {"--assume-extension-covers", "status.everything"}} {
		r = run(t, "", append([]string{"plan", "-f", "fixtures/topology-versions"}, bad...)...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "invalid "+bad[0]) {
			t.Errorf("%v: exit %d %s", bad, r.Code, r.Stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	r := run(t, "", "version")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Cluster API code v1.14.2") || !strings.Contains(r.Stdout, "release catalog of") {
		t.Errorf("version: %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// The in-place issue's Done-when example, as `make demo` runs it: the ClusterClass
// patches change the etcd image tag and a file at every control plane step, and
// the extension is stated to cover them.
func TestDoneWhenExample(t *testing.T) {
	r := run(t, "", "plan", "-f", "fixtures/topology-versions", "--to", "v1.36.3", "-o", "json",
		"--assume-extension-covers", "kubeadmConfig.spec.clusterConfiguration.etcd.local.imageTag,kubeadmConfig.spec.files")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var doc struct {
		Clusters []struct {
			Steps []struct {
				Version string
				Changes []struct {
					Prediction struct {
						Verdict, Basis string
						Differences    []string
						Machines       struct{ Created, UpdatedInPlace, Deleted int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range doc.Clusters[0].Steps {
		p := s.Changes[0].Prediction
		got = append(got, fmt.Sprintf("%s %s %s %d/%d/%d %d differences", s.Version, p.Verdict, p.Basis, p.Machines.Created, p.Machines.UpdatedInPlace, p.Machines.Deleted, len(p.Differences)))
	}
	want := []string{
		"v1.34.3 Mixed Assumed 1/2/1 3 differences",
		"v1.35.2 Mixed Assumed 1/2/1 3 differences",
		"v1.36.3 Rollout Assumed 3/0/3 4 differences",
		"v1.36.3 Mixed Assumed 1/1/1 1 differences",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
