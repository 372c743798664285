package realcapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/capienv"
	"github.com/capi-planner/capi-planner/internal/planfile"
	"github.com/capi-planner/capi-planner/internal/testutil/clitest"
	"github.com/capi-planner/capi-planner/internal/testutil/faultproxy"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/upgrade"
)

// savePlan saves the scenario's plan (asking the extension) with plan --out.
func (r *run) savePlan(t testing.TB, name string) (string, *planner.ClusterPlan) {
	t.Helper()
	path := filepath.Join(r.dir, name)
	args := append([]string{"plan", "--kubeconfig", env.Kubeconfig, "--cluster", r.ns + "/" + r.name, "--to", r.to, "--ask-extensions", "--out", path}, r.planArgs...)
	if res := clitest.Run(t, binary, r.dir, "", args...); res.Code != 0 {
		t.Fatalf("plan --out: exit %d\n%s", res.Code, res.Stderr)
	}
	saved, err := planfile.ReadFile(path, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	return path, &saved.Plan.Clusters[0]
}

// applyProcess is a capi-planner apply running in the background.
type applyProcess struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	code   int
}

func (p *applyProcess) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.Write(b)
}

// startApply starts apply with -o json and the given arguments.
func (r *run) startApply(t testing.TB, kubeconfig string, args ...string) *applyProcess {
	t.Helper()
	p := &applyProcess{done: make(chan struct{})}
	p.cmd = exec.Command(binary, append([]string{"apply", "--kubeconfig", kubeconfig, "-o", "json"}, args...)...)
	p.cmd.Dir = r.dir
	p.cmd.Env = append(os.Environ(), "KUBECONFIG=", "HOME="+r.dir)
	p.cmd.Stdout, p.cmd.Stderr = p, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		close(p.done)
	}()
	return p
}

// events decodes the JSON events written so far (a killed run's last line may be cut).
func (p *applyProcess) events(t testing.TB) []upgrade.Event {
	p.mu.Lock()
	data := append([]byte(nil), p.stdout.Bytes()...)
	p.mu.Unlock()
	var out []upgrade.Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e upgrade.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue
		}
		if e.APIVersion != upgrade.EventAPIVersion || e.Kind != upgrade.EventKind {
			t.Errorf("event of apiVersion %q kind %q", e.APIVersion, e.Kind)
		}
		out = append(out, e)
	}
	return out
}

// waitEvent waits until an event matches.
func (p *applyProcess) waitEvent(t testing.TB, timeout time.Duration, match func(upgrade.Event) bool) upgrade.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, e := range p.events(t) {
			if match(e) {
				return e
			}
		}
		select {
		case <-p.done:
			for _, e := range p.events(t) {
				if match(e) {
					return e
				}
			}
			t.Fatalf("apply ended (exit %d) without the event awaited\n%s", p.code, p.stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("no such event after %s\n%s", timeout, p.stderr.String())
	return upgrade.Event{}
}

// wait waits for the process to end and returns its exit code.
func (p *applyProcess) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("apply did not end after %s\n%s", timeout, p.stderr.String())
	}
	return 0
}

// applierKubeconfig is a user bound to exactly the roles apply documents:
// config/rbac/role.yaml, apply.yaml and (plans that ask) ask-extensions.yaml.
func applierKubeconfig(t testing.TB, user string) string {
	t.Helper()
	var roles []*rbacv1.ClusterRole
	for _, f := range []string{"role.yaml", "apply.yaml", "ask-extensions.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, "config", "rbac", f))
		if err != nil {
			t.Fatal(err)
		}
		role := &rbacv1.ClusterRole{}
		if err := yaml.Unmarshal(data, role); err != nil {
			t.Fatal(err)
		}
		for _, rule := range role.Rules {
			for _, res := range rule.Resources {
				if res == "secrets" || res == "nodes/proxy" || res == "*" && len(rule.APIGroups) == 1 && rule.APIGroups[0] == "" {
					t.Fatalf("config/rbac/%s grants %s", f, res)
				}
			}
		}
		roles = append(roles, role)
	}
	path, err := env.UserKubeconfig(context.Background(), user, roles...)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// checkRun checks one complete run's events against the plan: each step
// started and done in the plan's order, Machine events within their step,
// and, with exact, every step as predicted.
func checkRun(t testing.TB, plan *planner.ClusterPlan, events []upgrade.Event, exact bool) {
	t.Helper()
	var done []int
	current := 0
	for _, e := range events {
		switch e.Type {
		case upgrade.EventStepStarted:
			current = e.Step
		case upgrade.EventMachine:
			if e.Step != 0 && e.Step != current {
				t.Errorf("Machine %s %s at step %d, during step %d", e.Machine.Name, e.Change, e.Step, current)
			}
		case upgrade.EventStepDone:
			done = append(done, e.Step)
			if exact && len(e.Differences) > 0 {
				t.Errorf("step %d differs from the prediction: %v", e.Step, e.Differences)
			}
		}
	}
	var want []int
	for _, s := range plan.Steps {
		want = append(want, s.Number)
	}
	if fmt.Sprint(done) != fmt.Sprint(want) {
		t.Errorf("steps done %v, want the plan's %v", done, want)
	}
	last := events[len(events)-1]
	if last.Type != upgrade.EventCompleted {
		t.Fatalf("the last event is %s, not Completed: %+v", last.Type, last)
	}
	if exact && last.Message != "the prediction held" {
		t.Errorf("completed with %q: %v", last.Message, last.Differences)
	}
}

// writesOf counts the writes made, and found made, by write ID (step/kind/name/version).
func writesOf(events []upgrade.Event) (made, found map[string]int) {
	made, found = map[string]int{}, map[string]int{}
	for _, e := range events {
		if e.Write == nil || e.DryRun != "" {
			continue
		}
		id := fmt.Sprintf("%d/%s/%s/%s", e.Step, e.Write.Object.Kind, e.Write.Object.Name, e.Write.To)
		switch e.Type {
		case upgrade.EventWrite:
			made[id]++
		case upgrade.EventWriteDone:
			found[id]++
		}
	}
	return made, found
}

// logDetection reports how long after a step's last Machine change apply
// said the step was done: the controllers still update the owners' status
// after it, so this bounds the delay of detection from above.
func logDetection(t testing.TB, events []upgrade.Event) {
	last := map[int]time.Time{}
	for _, e := range events {
		switch e.Type {
		case upgrade.EventMachine:
			last[e.Step] = e.Time
		case upgrade.EventStepDone:
			if at, ok := last[e.Step]; ok {
				t.Logf("step %d: done %s after its last Machine change", e.Step, e.Time.Sub(at).Round(10*time.Millisecond))
			}
		}
	}
}

// checkTimeLeft checks that a run watched from its start timed every step and
// estimated the steps left after each but the last, and logs how each
// estimate compares with the time the steps left then took. Like the plan's
// estimates, it is not held to a bound: the scenarios run side by side, and
// the load on the box varies from one minute to the next.
func checkTimeLeft(t testing.TB, events []upgrade.Event) {
	t.Helper()
	var done []upgrade.Event
	var end time.Time
	for _, e := range events {
		switch e.Type {
		case upgrade.EventStepDone:
			done = append(done, e)
		case upgrade.EventCompleted:
			end = e.Time
		}
	}
	for i, e := range done {
		if e.TookSeconds == nil {
			t.Errorf("step %d: done without its duration", e.Step)
			continue
		}
		est := "no estimate"
		if e.Estimated != nil && *e.TookSeconds > 0 {
			est = fmt.Sprintf("estimated %ds (%.2fx)", e.Estimated.Seconds, float64(e.Estimated.Seconds)/float64(*e.TookSeconds))
		}
		left := "nothing left"
		if i < len(done)-1 {
			if e.Remaining == nil {
				t.Errorf("step %d: done without an estimate of the steps left", e.Step)
				continue
			}
			took := end.Sub(e.Time).Seconds()
			left = fmt.Sprintf("the steps left estimated %ds, took %.0fs (%.2fx): %s", e.Remaining.Seconds, took, float64(e.Remaining.Seconds)/took, e.Remaining.Basis)
		}
		t.Logf("step %d: took %ds, %s; %s", e.Step, *e.TookSeconds, est, left)
	}
}

func leaseOf(t testing.TB, r *run) *coordinationv1.Lease {
	t.Helper()
	l := &coordinationv1.Lease{}
	if err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: r.ns, Name: upgrade.LeaseName(r.name)}, l); err != nil {
		t.Fatal(err)
	}
	return l
}

// The Done-when of apply: plan --out, then apply FILE --yes takes a topology
// Cluster v1.33.4 -> v1.36.3 with the least RBAC, ends saying the prediction
// held, and moves the Machines as an independent observer sees them. While it
// runs, a second apply is refused with the holder's name; run again after the
// end, it finds everything done and writes nothing.
func TestApplyTopology(t *testing.T) {
	r := scenario{cluster: doneWhen(), to: "v1.36.3"}.run(t, "apply-topology")
	file, plan := r.savePlan(t, "plan.json")
	kubeconfig := applierKubeconfig(t, "applier-topology")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	stop := r.observe(ctx, t, plan)
	p := r.startApply(t, kubeconfig, file, "--yes")
	p.waitEvent(t, time.Minute, func(e upgrade.Event) bool { return e.Type == upgrade.EventLocked })
	second := clitest.Run(t, binary, r.dir, "", "apply", file, "--kubeconfig", kubeconfig, "--yes")
	if second.Code != 1 || !strings.Contains(second.Stderr, "the Cluster is locked") || !strings.Contains(second.Stderr, "holds Lease "+r.ns+"/"+upgrade.LeaseName(r.name)) {
		t.Errorf("a second apply while the first holds the lock: exit %d\n%s", second.Code, second.Stderr)
	}
	if code := p.wait(t, 14*time.Minute); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, p.stderr.String())
	}
	if err := env.WaitAt(ctx, r.ns, r.name, plan.Target, time.Minute); err != nil {
		t.Fatal(err)
	}
	stop()
	events := p.events(t)
	checkRun(t, plan, events, true)
	logDetection(t, events)
	checkTimeLeft(t, events)
	if made, _ := writesOf(events); len(made) != 1 || made["1/Cluster/web/v1.36.3"] != 1 {
		t.Errorf("writes %v, want the trigger once", made)
	}
	r.compare(t, plan)
	if l := leaseOf(t, r); l.Spec.HolderIdentity != nil || l.Annotations[upgrade.AnnotationPhase] != upgrade.PhaseCompleted {
		t.Errorf("the Lease after the run: holder %v, phase %q", l.Spec.HolderIdentity, l.Annotations[upgrade.AnnotationPhase])
	}
	again := r.startApply(t, kubeconfig, file, "--yes")
	if code := again.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("apply again: exit %d\n%s", code, again.stderr.String())
	}
	if made, _ := writesOf(again.events(t)); len(made) != 0 {
		t.Errorf("apply run again after the end wrote %v", made)
	}
}

// unmanaged is a Cluster without a topology: a KubeadmControlPlane and two
// MachineDeployments, planned through three minors.
func unmanaged() scenario {
	c := oneControlPlaneMachine()
	c.Topology, c.Patches, c.Versions = false, false, nil
	c.MachineDeployments = []capienv.MachineDeploymentSpec{{Name: "md-0", Replicas: 1, MaxSurge: 1}, {Name: "md-1", Replicas: 1, MaxSurge: 1}}
	return scenario{cluster: c, to: "v1.36.3", planArgs: []string{"--versions", "v1.34.3,v1.35.2,v1.36.3"}}
}

// A Cluster without a topology through three minors, with an API server that
// fails 20% of apply's requests and half its writes (429, 500, 503, resets,
// timeouts, cut watches; writes answered or not after they landed): apply
// converges, each write made once, the steps in the plan's order and as
// predicted.
func TestApplyUnmanagedThroughFaults(t *testing.T) {
	r := unmanaged().run(t, "apply-faults")
	file, plan := r.savePlan(t, "plan.json")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	seed := time.Now().UnixNano()
	// Half the writes fail, half of those resets and timeouts after they landed.
	proxy, kubeconfig := r.proxied(ctx, t, faultproxy.Options{Rate: 0.2, WriteRate: 0.5, Seed: seed})
	stop := r.observe(ctx, t, plan)
	p := r.startApply(t, kubeconfig, file, "--yes")
	if code := p.wait(t, 14*time.Minute); code != 0 {
		t.Fatalf("apply through faults (seed %d): exit %d\n%s", seed, code, p.stderr.String())
	}
	stop()
	st := proxy.Stats()
	t.Logf("fault proxy (seed %d): %d requests, %d watches, faults %v, %d after the write landed", seed, st.Requests, st.Watches, st.Faults, st.AfterForward)
	events := p.events(t)
	checkRun(t, plan, events, true)
	checkWritesOnce(t, plan, events)
	checkTimeLeft(t, events)
	r.compare(t, plan)
}

// proxied starts a fault proxy to the box's API server, stopped with the
// test, and returns it with a kubeconfig that goes through it.
func (r *run) proxied(ctx context.Context, t testing.TB, opts faultproxy.Options) (*faultproxy.Proxy, string) {
	t.Helper()
	proxy, err := faultproxy.Start(ctx, env.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	kubeconfig := filepath.Join(r.dir, "proxied-kubeconfig")
	if err := proxy.Kubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	return proxy, kubeconfig
}

// checkWritesOnce checks that every write of the plan was made, or found made,
// and none was made twice.
func checkWritesOnce(t testing.TB, plan *planner.ClusterPlan, events []upgrade.Event) {
	t.Helper()
	made, found := writesOf(events)
	for _, w := range upgrade.Writes(plan, func(planner.ObjectRef) string { return "" }) {
		id := w.ID()
		switch {
		case made[id] > 1:
			t.Errorf("write %s made %d times", id, made[id])
		case made[id]+found[id] == 0:
			t.Errorf("write %s never made", id)
		}
		delete(made, id)
	}
	if len(made) > 0 {
		t.Errorf("writes not in the plan: %v", made)
	}
}

// kill -9 at 20 random points of an apply through three minors, then run it
// once more: every run converges on the plan, no write made twice or skipped.
// A killed run's lock is taken over at once by a run on the same machine,
// which sees that its holder's process is gone.
func TestApplyKilledAndRerun(t *testing.T) {
	s := unmanaged()
	s.cluster.ControlPlaneReplicas = 3
	// Every Machine replaced: a longer upgrade, for the kills to spread over.
	s.ext.RefuseInPlace = true
	r := s.run(t, "apply-killed")
	file, plan := r.savePlan(t, "plan.json")
	// With the least RBAC: here apply patches the KubeadmControlPlane and the MachineDeployments.
	kubeconfig := applierKubeconfig(t, "applier-killed")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	stop := r.observe(ctx, t, plan)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var all []upgrade.Event
	var last *applyProcess
	kills := 0
	for kills < 20 {
		p := r.startApply(t, kubeconfig, file, "--yes")
		select {
		case <-p.done:
			if p.code != 0 {
				t.Fatalf("apply after %d kills: exit %d\n%s", kills, p.code, p.stderr.String())
			}
			// The upgrade ended before the kill.
			last = p
		case <-time.After(time.Duration(500+rng.IntN(9500)) * time.Millisecond):
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			all = append(all, p.events(t)...)
			kills++
			continue
		}
		break
	}
	t.Logf("killed apply %d times", kills)
	if kills < 20 {
		t.Errorf("the upgrade ended after %d kills: too short to kill it 20 times", kills)
	}
	if last == nil {
		last = r.startApply(t, kubeconfig, file, "--yes")
		if code := last.wait(t, 15*time.Minute); code != 0 {
			t.Fatalf("the last apply: exit %d\n%s", code, last.stderr.String())
		}
	}
	stop()
	events := last.events(t)
	if events[len(events)-1].Type != upgrade.EventCompleted {
		t.Fatalf("the last run did not complete: %+v", events[len(events)-1])
	}
	checkWritesOnce(t, plan, append(all, events...))
	if err := env.WaitAt(ctx, r.ns, r.name, plan.Target, time.Minute); err != nil {
		t.Fatal(err)
	}
	r.compare(t, plan)
}

// A saved plan whose inputs changed is refused and names the object; a
// server dry run shows the admission's own words; an edit made by someone
// else while apply runs stops it without overwriting the edit.
func TestApplyRefuses(t *testing.T) {
	s := unmanaged()
	s.cluster.MachineDeployments = s.cluster.MachineDeployments[:1]
	r := s.run(t, "apply-refuses")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	md := &clusterv1.MachineDeployment{}
	mds := &clusterv1.MachineDeploymentList{}
	if err := env.Client.List(ctx, mds, ctrlclient.InNamespace(r.ns)); err != nil || len(mds.Items) != 1 {
		t.Fatalf("the MachineDeployment: %v (%d)", err, len(mds.Items))
	}
	*md = mds.Items[0]

	// Stale: the MachineDeployment's spec changes after the plan (a label of
	// its Machines, propagated in place: no rollout).
	stale, _ := r.savePlan(t, "stale.json")
	patch(ctx, t, md, `{"spec":{"template":{"metadata":{"labels":{"team":"blue"}}}}}`)
	res := clitest.Run(t, binary, r.dir, "", "apply", stale, "--kubeconfig", env.Kubeconfig, "--yes")
	if res.Code != 1 || !strings.Contains(res.Stderr, "is stale") || !strings.Contains(res.Stderr, "MachineDeployment "+r.ns+"/"+md.Name+": its spec changed since the plan") {
		t.Errorf("a stale plan: exit %d\n%s", res.Code, res.Stderr)
	}

	// The MachineDeployment controller propagates the label to the
	// MachineSet's template (another spec change): plan again after that.
	deadline := time.Now().Add(time.Minute)
	for !labelPropagated(ctx, t, r.ns, "team", "blue") {
		if time.Now().After(deadline) {
			t.Fatal("the MachineDeployment controller did not propagate the label to the MachineSet")
		}
		time.Sleep(time.Second)
	}

	// A server dry run through a validating admission webhook that freezes
	// upgrades: apply reports the webhook's refusal in its own words.
	fresh, _ := r.savePlan(t, "fresh.json")
	const freeze = "change freeze: Kubernetes upgrades wait for the next change window"
	unfreeze := freezeWebhook(ctx, t, r.ns, freeze)
	res = clitest.Run(t, binary, r.dir, "", "apply", fresh, "--kubeconfig", env.Kubeconfig, "--dry-run=server")
	if res.Code != 1 || !strings.Contains(res.Stderr, "would refuse") || !strings.Contains(res.Stderr, `admission webhook "freeze.capi-planner.test" denied the request: `+freeze) {
		t.Errorf("a server dry run the webhook refuses: exit %d\n%s", res.Code, res.Stderr)
	}
	t.Logf("apply --dry-run=server through the webhook:\n%s", res.Stderr)
	unfreeze()
	res = clitest.Run(t, binary, r.dir, "", "apply", fresh, "--kubeconfig", env.Kubeconfig, "--dry-run=server")
	if res.Code != 0 || !strings.Contains(res.Stderr, "would set (server dry run) KubeadmControlPlane") {
		t.Fatalf("a server dry run: exit %d\n%s", res.Code, res.Stderr)
	}

	// Someone else moves the control plane on while its first step runs: the
	// next write finds neither the version it planned nor its own, and stops.
	p := r.startApply(t, env.Kubeconfig, fresh, "--yes")
	written := p.waitEvent(t, 2*time.Minute, func(e upgrade.Event) bool { return e.Type == upgrade.EventWrite })
	kcp := &controlplanev1.KubeadmControlPlane{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: r.ns, Name: written.Write.Object.Name}, kcp); err != nil {
		t.Fatal(err)
	}
	patch(ctx, t, kcp, `{"spec":{"version":"v1.34.4"}}`)
	if code := p.wait(t, 10*time.Minute); code != 1 || !strings.Contains(p.stderr.String(), `spec.version is "v1.34.4", neither v1.34.3 (as planned) nor v1.35.2 (written): someone else changed it`) {
		t.Errorf("apply with a concurrent edit: exit %d\n%s", code, p.stderr.String())
	}
	if err := env.Client.Get(ctx, ctrlclient.ObjectKeyFromObject(kcp), kcp); err != nil || kcp.Spec.Version != "v1.34.4" {
		t.Errorf("the concurrent edit was overwritten: %s (%v)", kcp.Spec.Version, err)
	}
}

// labelPropagated says whether every MachineSet in ns has the label in its
// Machines' template.
func labelPropagated(ctx context.Context, t testing.TB, ns, key, value string) bool {
	t.Helper()
	sets := &clusterv1.MachineSetList{}
	if err := env.Client.List(ctx, sets, ctrlclient.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, ms := range sets.Items {
		if ms.Spec.Template.Labels[key] != value {
			return false
		}
	}
	return len(sets.Items) > 0
}

func patch(ctx context.Context, t testing.TB, obj ctrlclient.Object, p string) {
	t.Helper()
	if err := env.Client.Patch(ctx, obj, ctrlclient.RawPatch(types.MergePatchType, []byte(p))); err != nil {
		t.Fatal(err)
	}
}

// A lifecycle hook that blocks (the test extension answers BeforeClusterUpgrade
// with retryAfterSeconds): apply names it while it blocks, --timeout ends the
// wait with exit 4 saying so, and a rerun continues once it is released.
func TestApplyBlockingHook(t *testing.T) {
	c := smallest()
	r := scenario{cluster: c, to: "v1.34.3"}.run(t, "apply-hook")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	responses := &corev1.ConfigMap{}
	key := types.NamespacedName{Namespace: r.ns, Name: fmt.Sprintf("%s-%s-test-extension-hookresponses", r.name, r.ext.Name)}
	if err := env.Client.Get(ctx, key, responses); err != nil {
		t.Fatal(err)
	}
	block := func(retry int) {
		// The test extension keys its answers by hook and versions.
		patch(ctx, t, responses, fmt.Sprintf(`{"data":{"BeforeClusterUpgrade-v1.33.4-v1.34.3-preloadedResponse":%q}}`,
			fmt.Sprintf(`{"Status": "Success", "Message": "waiting for the change window", "RetryAfterSeconds": %d}`, retry)))
	}
	block(5)
	file, _ := r.savePlan(t, "plan.json")
	// Through a proxy that fails nothing, to count the requests apply makes while it waits.
	proxy, counted := r.proxied(ctx, t, faultproxy.Options{})
	p := r.startApply(t, counted, file, "--yes", "--stall-after", "5s", "--timeout", "40s", "--lease-duration", "30s")
	// The stall may begin before the topology controller writes the hook's
	// answer in the Cluster's conditions; apply then says the stall again with
	// the hook once it is written.
	p.waitEvent(t, 2*time.Minute, func(e upgrade.Event) bool {
		return e.Type == upgrade.EventStalled && strings.Contains(strings.Join(e.Reasons, "\n"), "BeforeClusterUpgrade: waiting for the change window")
	})
	before, since := proxy.Stats().Requests, time.Now()
	if code := p.wait(t, 2*time.Minute); code != 4 || !strings.Contains(p.stderr.String(), "run the same apply again") || !strings.Contains(p.stderr.String(), "BeforeClusterUpgrade") {
		t.Errorf("apply --timeout while the hook blocks: exit %d\n%s", code, p.stderr.String())
	}
	// Waiting is watching: the Lease renewals (every 10s) and the release, no polling.
	waited := time.Since(since)
	requests := proxy.Stats().Requests - before
	t.Logf("while waiting %s for the hook: %d requests (%.1f a minute)", waited.Round(time.Second), requests, float64(requests)/waited.Minutes())
	if limit := int(waited/(10*time.Second)) + 3; requests > limit {
		t.Errorf("%d requests while waiting %s: more than the Lease renewals and the release (%d)", requests, waited.Round(time.Second), limit)
	}
	block(0)
	again := r.startApply(t, env.Kubeconfig, file, "--yes", "--stall-after", "5s")
	if code := again.wait(t, 10*time.Minute); code != 0 {
		t.Fatalf("apply after the hook was released: exit %d\n%s", code, again.stderr.String())
	}
	events := again.events(t)
	if events[1].Type != upgrade.EventResumed {
		t.Errorf("the rerun did not resume its plan: %+v", events[:2])
	}
	if made, _ := writesOf(events); len(made) != 0 {
		t.Errorf("the rerun wrote %v again", made)
	}
}

// Killed right after the first worker wave's write, the rerun waits for that
// wave to land before it checks and writes the next one.
func TestApplyKilledBetweenWaves(t *testing.T) {
	r := unmanaged().run(t, "apply-waves")
	file, plan := r.savePlan(t, "plan.json")
	last := plan.Steps[len(plan.Steps)-1]
	if len(last.Changes) != 2 || last.Changes[0].Wave == last.Changes[1].Wave {
		t.Fatalf("the last step is not two waves: %+v", last.Changes)
	}
	p := r.startApply(t, env.Kubeconfig, file, "--yes")
	p.waitEvent(t, 10*time.Minute, func(e upgrade.Event) bool {
		return e.Type == upgrade.EventWrite && e.Step == last.Number
	})
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	again := r.startApply(t, env.Kubeconfig, file, "--yes")
	if code := again.wait(t, 10*time.Minute); code != 0 {
		t.Fatalf("the rerun: exit %d\n%s", code, again.stderr.String())
	}
	checkWritesOnce(t, plan, append(p.events(t), again.events(t)...))
}

// A ClusterClass without a version list or extension takes one minor per
// spec.topology.version write. apply --until stops after the first write's
// upgrade; apply again makes the second write once the first upgrade has
// landed (its AfterClusterUpgrade called), and follows it to the end, as
// predicted and as an observer sees it.
func TestApplyOneMinorPerWrite(t *testing.T) {
	c := smallest()
	c.Versions, c.Patches = nil, false
	s := scenario{cluster: c, to: "v1.35.2", planArgs: []string{"--versions", "v1.34.3,v1.35.2"}}
	s.ext.RefuseInPlace = true
	r := s.run(t, "apply-per-minor")
	file, plan := r.savePlan(t, "plan.json")
	var writes []string
	for _, w := range upgrade.Writes(plan, func(planner.ObjectRef) string { return "" }) {
		writes = append(writes, w.ID())
	}
	if want := "1/Cluster/web/v1.34.3 3/Cluster/web/v1.35.2"; strings.Join(writes, " ") != want {
		t.Fatalf("planned writes %v, want %s", writes, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	stop := r.observe(ctx, t, plan)
	first := r.startApply(t, env.Kubeconfig, file, "--yes", "--until", "v1.34.3")
	if code := first.wait(t, 8*time.Minute); code != 0 {
		t.Fatalf("apply --until v1.34.3: exit %d\n%s", code, first.stderr.String())
	}
	firstEvents := first.events(t)
	checkTimeLeft(t, firstEvents)
	var done []int
	for _, e := range firstEvents {
		if e.Type == upgrade.EventStepDone {
			done = append(done, e.Step)
			if len(e.Differences) > 0 {
				t.Errorf("step %d differs from the prediction: %v", e.Step, e.Differences)
			}
		}
	}
	last := firstEvents[len(firstEvents)-1]
	if fmt.Sprint(done) != "[1 2]" || last.Type != upgrade.EventCompleted || !strings.HasPrefix(last.Message, "stopped after step 2 (--until v1.34.3); the prediction held") {
		t.Errorf("apply --until v1.34.3: steps done %v, then %s %q", done, last.Type, last.Message)
	}
	if l := leaseOf(t, r); l.Annotations[upgrade.AnnotationPhase] != upgrade.PhaseStopped {
		t.Errorf("the Lease after --until: phase %q", l.Annotations[upgrade.AnnotationPhase])
	}
	second := r.startApply(t, env.Kubeconfig, file, "--yes")
	if code := second.wait(t, 8*time.Minute); code != 0 {
		t.Fatalf("apply after --until: exit %d\n%s", code, second.stderr.String())
	}
	if err := env.WaitAt(ctx, r.ns, r.name, plan.Target, time.Minute); err != nil {
		t.Fatal(err)
	}
	stop()
	secondEvents := second.events(t)
	end := secondEvents[len(secondEvents)-1]
	// Steps 1 and 2 ran before this run; it watched 3 and 4 from their start.
	if want := "the prediction held for the steps this run watched from their start (steps up to 2 ran, in part, unwatched: not compared)"; end.Type != upgrade.EventCompleted || end.Message != want {
		t.Errorf("apply after --until ended with %s %q (%v), want %q", end.Type, end.Message, end.Differences, want)
	}
	made, _ := writesOf(append(firstEvents, secondEvents...))
	if len(made) != 2 || made["1/Cluster/web/v1.34.3"] != 1 || made["3/Cluster/web/v1.35.2"] != 1 {
		t.Errorf("writes %v, want each of the two once", made)
	}
	r.compare(t, plan)
}

// CAPI's Cluster webhook refuses every change of a Cluster whose variables no
// longer pass its ClusterClass: here the platform team added a required
// variable to the class (whose webhook does not check the Clusters that use
// it). The plan says so in CAPI's own words (it runs the webhook's variable
// code), the real webhook agrees on a server dry run of the version write, and
// apply has nothing to apply.
func TestVariablesRejectedAsCAPIDoes(t *testing.T) {
	c := smallest()
	r := scenario{cluster: c, to: "v1.34.3"}.run(t, "variables")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cluster := &clusterv1.Cluster{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: r.ns, Name: r.name}, cluster); err != nil {
		t.Fatal(err)
	}
	cc := &clusterv1.ClusterClass{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: r.ns, Name: cluster.Spec.Topology.ClassRef.Name}, cc); err != nil {
		t.Fatal(err)
	}
	patch(ctx, t, cc, `{"spec":{"variables":[{"name":"region","required":true,"schema":{"openAPIV3Schema":{"type":"string"}}}]}}`)
	// The plan is made once the ClusterClass controller has the new variable in its status.
	deadline := time.Now().Add(time.Minute)
	for {
		if err := env.Client.Get(ctx, ctrlclient.ObjectKeyFromObject(cc), cc); err != nil {
			t.Fatal(err)
		}
		if cc.Status.ObservedGeneration == cc.Generation && len(cc.Status.Variables) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ClusterClass controller did not take the variable: %+v", cc.Status)
		}
		time.Sleep(time.Second)
	}
	const words = `required variable "region" must be set`
	file := filepath.Join(r.dir, "plan.json")
	res := clitest.Run(t, binary, r.dir, "", "plan", "--kubeconfig", env.Kubeconfig, "--cluster", r.ns+"/"+r.name, "--to", r.to, "--out", file)
	if res.Code != 1 || !strings.Contains(res.Stderr, "[ClusterVariablesInvalid]") || !strings.Contains(res.Stderr, words) {
		t.Errorf("plan: exit %d\n%s", res.Code, res.Stderr)
	}
	saved, err := planfile.ReadFile(file, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	if p := saved.Plan.Clusters[0]; p.Status != planner.StatusRejected || len(p.Rejections) != 1 || p.Rejections[0].Rule != planner.RuleVariablesInvalid {
		t.Errorf("the saved plan is %s: %+v", p.Status, p.Rejections)
	}
	// The real webhook, on a server dry run of the write the plan refuses.
	write := cluster.DeepCopy()
	write.Spec.Topology.Version = "v1.34.3"
	err = env.Client.Update(ctx, write, ctrlclient.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), words) {
		t.Errorf("CAPI's webhook on the version write: %v", err)
	}
	t.Logf("CAPI's webhook: %v", err)
	res = clitest.Run(t, binary, r.dir, "", "apply", file, "--kubeconfig", env.Kubeconfig, "--dry-run=server")
	if res.Code != 1 || !strings.Contains(res.Stderr, "is Rejected: there is nothing to apply") {
		t.Errorf("apply --dry-run=server of the rejected plan: exit %d\n%s", res.Code, res.Stderr)
	}
}
