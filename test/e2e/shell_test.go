package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capi-planner/capi-planner/internal/testutil/clitest"
)

func TestVersionJSON(t *testing.T) {
	r := run(t, "", "version", "-o", "json")
	var v struct {
		CAPIPlanner, ClusterAPI string
		Catalog                 struct{ Releases int }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || r.Code != 0 || v.ClusterAPI != "v1.14.2" || v.Catalog.Releases == 0 {
		t.Errorf("exit %d %v: %s%s", r.Code, err, r.Stdout, r.Stderr)
	}
	if r := run(t, "", "version", "-o", "yaml"); r.Code != 1 || !strings.Contains(r.Stderr, `invalid -o "yaml"`) {
		t.Errorf("version -o yaml: exit %d %s", r.Code, r.Stderr)
	}
}

// pluginDir installs the binary as kubectl installs plugins: under the plugin's
// names, in a directory that is put first on PATH.
func pluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(dir, "kubectl-capi_planner")); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../../hack/krew/kubectl_complete-capi_planner")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kubectl_complete-capi_planner"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

// Installed as kubectl-capi_planner, the binary is `kubectl capi-planner`: it names
// itself so, takes kubectl's flags, and completes through kubectl_complete-capi_planner.
func TestKubectlPlugin(t *testing.T) {
	dir := pluginDir(t)
	plugin := filepath.Join(dir, "kubectl-capi_planner")
	r := clitest.Run(t, plugin, "../..", "", "plan", "--help")
	if r.Code != 0 || !strings.Contains(r.Stdout, "kubectl capi-planner plan") {
		t.Errorf("help: exit %d\n%s", r.Code, r.Stdout)
	}
	r = clitest.Run(t, plugin, "../..", "", "plan", "-f", "fixtures/topology-versions", "--to", "v1.36.3", "-n", "prod", "--request-timeout", "5s")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Planned (4 steps)") {
		t.Errorf("plan: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, args := range [][]string{{"plan", "--kubeconfig", "/nonexistent", "--context", "mgmt"}, {"--kubeconfig=/nonexistent", "--context", "mgmt", "plan"}} {
		r = clitest.Run(t, plugin, "../..", "", args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "/nonexistent") {
			t.Errorf("kubectl's --kubeconfig and --context (%v): exit %d %s", args, r.Code, r.Stderr)
		}
	}
	complete := filepath.Join(dir, "kubectl_complete-capi_planner")
	for args, want := range map[string]string{"pl": "plan\n:4\n", "plan --ign": "--ignore\n--ignore-file\n:4\n", "zzz": ":0\n"} {
		if r := clitest.Run(t, complete, "../..", "", strings.Fields(args)...); r.Code != 0 || r.Stdout != want {
			t.Errorf("complete %q: exit %d %q, want %q", args, r.Code, r.Stdout, want)
		}
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("no kubectl on PATH: checked the plugin without it")
		return
	}
	r = clitest.Run(t, kubectl, "../..", "", "capi-planner", "-n", "prod", "plan", "-f", "fixtures/topology-versions", "--to", "v1.36.3")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Planned (4 steps)") {
		t.Errorf("kubectl capi-planner plan: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = clitest.Run(t, kubectl, "../..", "", "__complete", "capi-planner", "pl")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "plan\n:4") {
		t.Errorf("kubectl __complete capi-planner pl: exit %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
}

// The completion scripts load in their shells and complete commands and flags.
func TestCompletionScripts(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(dir, "capi-planner")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	tests := []struct{ shell, script, want string }{
		{"bash", `source <(capi-planner completion bash) && complete -p capi-planner >/dev/null &&
COMP_WORDS=(capi-planner pl); COMP_CWORD=1; _capi_planner; echo "${COMPREPLY[*]}";
COMP_WORDS=(capi-planner plan --detailed); COMP_CWORD=2; _capi_planner; echo "${COMPREPLY[*]}"`, "plan\n--detailed-exitcode\n"},
		{"zsh", `autoload -U compinit && compinit -u && source <(capi-planner completion zsh) && echo ${_comps[capi-planner]}`, "_capi_planner\n"},
		{"fish", `capi-planner completion fish | source; complete -C "capi-planner pl"; complete -C "capi-planner plan --detailed"`, "plan\tplan the upgrade"},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			sh, err := exec.LookPath(tt.shell)
			if err != nil {
				t.Skipf("%s is not installed", tt.shell)
			}
			args := []string{"-c", tt.script}
			if tt.shell == "zsh" {
				args = append([]string{"-f"}, args...)
			}
			r := clitest.Run(t, sh, dir, "", args...)
			if r.Code != 0 || !strings.HasPrefix(r.Stdout, tt.want) || r.Stderr != "" {
				t.Errorf("exit %d\nstdout %q\nstderr %s", r.Code, r.Stdout, r.Stderr)
			}
			if tt.shell == "fish" && !strings.Contains(r.Stdout, "--detailed-exitcode") {
				t.Errorf("fish does not complete flags: %q", r.Stdout)
			}
		})
	}
	if r := run(t, "", "completion", "powershell"); r.Code != 1 || !strings.Contains(r.Stderr, "unsupported shell") {
		t.Errorf("completion powershell: exit %d %s", r.Code, r.Stderr)
	}
}

// dated reports whether a rule's findings depend on the day the test runs (the
// binary plans at the time of the run, with the embedded catalog).
func dated(rule string) bool {
	return rule == "EndOfLife" || rule == "EndOfLifeUnknown"
}

// -o sarif puts each finding on the snapshot file and line of its object.
func TestSARIFOutput(t *testing.T) {
	r := run(t, "", "plan", "-f", "fixtures/topology-versions", "--to", "v1.36.3", "-o", "sarif")
	if r.Code != 0 {
		t.Fatalf("exit %d %s", r.Code, r.Stderr)
	}
	var log struct {
		Version string
		Runs    []struct {
			Results []struct {
				RuleID    string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &log); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, res := range log.Runs[0].Results {
		if dated(res.RuleID) {
			continue
		}
		loc := res.Locations[0].PhysicalLocation
		got = append(got, fmt.Sprintf("%s %s:%d", res.RuleID, loc.ArtifactLocation.URI, loc.Region.StartLine))
	}
	if log.Version != "2.1.0" || strings.Join(got, "\n") != "WorkersCannotScale fixtures/topology-versions/cluster.yaml:282" {
		t.Errorf("version %s, results:\n%s", log.Version, strings.Join(got, "\n"))
	}
}

// A GPU pool (a taint in its KubeadmConfigTemplate): the step that replaces its
// Machines is a finding, and --fail-on=replace-gpu gates on it; the same plan
// without GPUs passes the gate although the control plane is replaced.
func TestReplaceGPU(t *testing.T) {
	demo := []string{"--to", "v1.36.3", "--assume-extension-covers", "kubeadmConfig.spec.clusterConfiguration.etcd.local.imageTag,kubeadmConfig.spec.files", "--fail-on", "replace-gpu"}
	if r := run(t, "", append([]string{"plan", "-f", "fixtures/topology-versions"}, demo...)...); r.Code != 0 || strings.Contains(r.Stdout, "Accelerator") {
		t.Errorf("no GPUs: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	dir := t.TempDir()
	for _, f := range []string{"cluster.yaml", "clusterclass.yaml", "extensions.yaml", "management.yaml"} {
		data, err := os.ReadFile(filepath.Join("../../fixtures/topology-versions", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "cluster.yaml" {
			tainted := strings.Replace(string(data), "        nodeRegistration:\n          kubeletExtraArgs:",
				"        nodeRegistration:\n          taints:\n          - key: nvidia.com/gpu\n            effect: NoSchedule\n          kubeletExtraArgs:", 1)
			if tainted == string(data) {
				t.Fatal("the fixture's KubeadmConfigTemplate changed: update the test")
			}
			data = []byte(tainted)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, "", append([]string{"plan", "-f", dir}, demo...)...)
	for _, w := range []string{
		"WARNING [AcceleratorMachinesReplaced] step 4 replaces accelerator Machines of MachineDeployment prod/web-md-0 (1 created, 1 deleted, 1 updated in place)",
		"maxSurge 0, maxUnavailable 1",
		"KubeadmConfigTemplate web-md-0 sets spec.template.spec.joinConfiguration.nodeRegistration.taints[0].key: nvidia.com/gpu",
		"INFO [AcceleratorMachines] accelerator Machines (web-md-0) in this upgrade: 1 replaced (1 created, 1 deleted), 1 updated in place",
	} {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("stdout does not contain %q:\n%s", w, r.Stdout)
		}
	}
	if r.Code != 3 || !strings.Contains(r.Stderr, "policy: Cluster prod/web step 4: MachineDeployment prod/web-md-0 replaces Machines") || strings.Contains(r.Stderr, "KubeadmControlPlane") {
		t.Errorf("--fail-on=replace-gpu: exit %d\n%s", r.Code, r.Stderr)
	}
	r = run(t, "", append([]string{"plan", "-f", dir, "--ignore", "AcceleratorMachinesReplaced:prod/web-md-0"}, demo...)...)
	if r.Code != 0 {
		t.Errorf("suppressed: exit %d\n%s", r.Code, r.Stderr)
	}
}

// --cluster and -n complete from the input the flags typed so far select (here a snapshot).
func TestCompleteClusters(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-f", "fixtures/fleet", "--cluster"}, "team-a/alpha\nteam-a/beta\nteam-b/delta\nteam-b/gamma\nteam-c/epsilon\nteam-c/zeta\n"},
		{[]string{"plan", "-f", "fixtures/fleet", "-n", "team-b", "--cluster"}, "team-b/delta\nteam-b/gamma\n"},
		{[]string{"plan", "-f", "fixtures/fleet", "-n"}, "team-a\nteam-b\nteam-c\n"},
		{[]string{"plan", "--cluster"}, ""},
	} {
		if r := run(t, "", append(tt.args, "--generate-bash-completion")...); r.Code != 0 || r.Stdout != tt.want {
			t.Errorf("%v: exit %d %q, want %q", tt.args, r.Code, r.Stdout, tt.want)
		}
	}
	dir := pluginDir(t)
	r := clitest.Run(t, filepath.Join(dir, "kubectl_complete-capi_planner"), "../..", "", "plan", "-f", "fixtures/fleet", "--cluster", "team-c/")
	if r.Code != 0 || r.Stdout != "team-c/epsilon\nteam-c/zeta\n:4\n" {
		t.Errorf("kubectl completion: exit %d %q", r.Code, r.Stdout)
	}
}
