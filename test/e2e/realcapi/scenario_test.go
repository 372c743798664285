package realcapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"

	"github.com/capi-planner/capi-planner/internal/capienv"
	"github.com/capi-planner/capi-planner/internal/testutil/clitest"
	"github.com/capi-planner/capi-planner/planner"
)

// scenario is one Cluster, planned and then upgraded by the real controllers.
type scenario struct {
	cluster capienv.ClusterSpec
	ext     capienv.ExtensionOptions
	to      string
	// planArgs are passed to every plan (offline and live).
	planArgs []string
	// during runs while the upgrade is under way (e.g. to release a stall), after
	// the trigger; nil for none.
	during func(ctx context.Context, t testing.TB, s *run, plan *planner.ClusterPlan)
}

// run is a scenario under way.
type run struct {
	scenario
	ns, name string
	dir      string
	obs      *observer
	// hooksBefore are the hook calls the test extension had recorded, and
	// hookLogFrom the size of its log, when the current upgrade started: a
	// scenario may upgrade more than once.
	hooksBefore map[string]bool
	hookLogFrom int64
}

func (s scenario) run(t *testing.T, name string) *run {
	t.Helper()
	t.Parallel()
	return s.start(t, name)
}

// start creates the scenario's namespace, extension and Cluster.
func (s scenario) start(t testing.TB, name string) *run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	r := &run{scenario: s, ns: "e2e-" + name, name: "web", dir: t.TempDir()}
	r.cluster.Namespace, r.cluster.Name = r.ns, r.name
	r.ext.Name, r.ext.Namespaces = name, []string{r.ns}
	// The Namespace first: the ExtensionConfig's selector is checked against it.
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.RegisterTestExtension(ctx, r.ext); err != nil {
		t.Fatal(err)
	}
	if err := env.CreateCluster(ctx, r.cluster, 8*time.Minute); err != nil {
		t.Fatal(err)
	}
	return r
}

// peer creates another Cluster like the run's in its namespace, with the
// same extension: a fleet, whose Clusters learn from each other.
func (r *run) peer(t testing.TB, name string) *run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := &run{scenario: r.scenario, ns: r.ns, name: name, dir: t.TempDir()}
	p.cluster.Name = name
	if err := env.CreateCluster(ctx, p.cluster, 8*time.Minute); err != nil {
		t.Fatal(err)
	}
	return p
}

// plan runs capi-planner plan for the scenario's Cluster and decodes its JSON.
func (r *run) plan(t testing.TB, source []string, extra ...string) *planner.ClusterPlan {
	t.Helper()
	args := append([]string{"plan", "--cluster", r.ns + "/" + r.name, "--to", r.to, "-o", "json"}, source...)
	args = append(append(args, r.planArgs...), extra...)
	res := clitest.Run(t, binary, r.dir, "", args...)
	if res.Code != 0 {
		t.Fatalf("capi-planner %s: exit %d\n%s", strings.Join(args, " "), res.Code, res.Stderr)
	}
	var doc planner.UpgradePlan
	if err := json.Unmarshal([]byte(res.Stdout), &doc); err != nil || len(doc.Clusters) != 1 {
		t.Fatalf("decoding the plan: %v\n%s", err, res.Stdout)
	}
	return &doc.Clusters[0]
}

// plans plans offline from a snapshot and live, checks that they agree, and
// returns the live plan asked of the extension (--ask-extensions).
func (r *run) plans(t testing.TB) *planner.ClusterPlan {
	t.Helper()
	live := []string{"--kubeconfig", env.Kubeconfig}
	snap := filepath.Join(r.dir, "snapshot.yaml")
	if res := clitest.Run(t, binary, r.dir, "", "snapshot", "--kubeconfig", env.Kubeconfig, "-n", r.ns, "-o", snap); res.Code != 0 {
		t.Fatalf("snapshot: exit %d\n%s", res.Code, res.Stderr)
	}
	offline := r.plan(t, []string{"-f", snap})
	online := r.plan(t, live)
	if a, b := stepsJSON(t, offline), stepsJSON(t, online); a != b {
		t.Errorf("the plan of the snapshot differs from the live plan:\noffline %s\nlive    %s", a, b)
	}
	asked := r.plan(t, live, "--ask-extensions")
	for _, s := range asked.Steps {
		for _, ch := range s.Changes {
			if p := ch.Prediction; p != nil && p.AskFailed != "" {
				t.Errorf("step %d %s: asking the extension failed: %s", s.Number, ch.Object.Name, p.AskFailed)
			}
		}
	}
	return asked
}

func stepsJSON(t testing.TB, p *planner.ClusterPlan) string {
	b, err := json.Marshal(p.Steps)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// upgrade triggers the plan as an operator would and waits until the controllers
// have landed it, observing the Machines all along.
func (r *run) upgrade(t testing.TB, plan *planner.ClusterPlan) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	defer r.observe(ctx, t, plan)()
	r.markHooks(ctx, t)
	start := time.Now()
	if plan.Trigger != nil {
		patchTopologyVersion(ctx, t, r.ns, r.name, plan.Trigger.To)
	} else {
		r.stepUnmanaged(ctx, t, plan)
	}
	if r.during != nil {
		r.during(ctx, t, r, plan)
	}
	if err := env.WaitAt(ctx, r.ns, r.name, plan.Target, 12*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("upgrade to %s took %s", plan.Target, time.Since(start).Round(time.Second))
}

// observe starts watching the Cluster's Machines for the plan; the function
// it returns stops watching, after a last look that times the steps that
// ended since the last poll (apply sees a step done before the observer does).
func (r *run) observe(ctx context.Context, t testing.TB, plan *planner.ClusterPlan) (stop func()) {
	t.Helper()
	r.obs = newObserver(env.Client, r.ns, plan.ControlPlane.Name)
	if err := r.obs.baseline(ctx); err != nil {
		t.Fatal(err)
	}
	r.obs.track(plan)
	if err := r.obs.recordSpecs(ctx, plan); err != nil {
		t.Fatal(err)
	}
	watch, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.obs.run(watch); close(done) }()
	return func() {
		cancel()
		<-done
		_ = r.obs.poll(ctx)
		r.obs.timeSteps(ctx)
	}
}

// stepUnmanaged patches a Cluster without a topology step by step, as the plan
// says: the KubeadmControlPlane's spec.version, then each MachineDeployment's.
func (r *run) stepUnmanaged(ctx context.Context, t testing.TB, plan *planner.ClusterPlan) {
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			key := types.NamespacedName{Namespace: r.ns, Name: ch.Object.Name}
			var obj ctrlclient.Object
			var patch string
			switch ch.Object.Kind {
			case "KubeadmControlPlane":
				obj, patch = &controlplanev1.KubeadmControlPlane{}, fmt.Sprintf(`{"spec":{"version":%q}}`, ch.To)
			case "MachineDeployment":
				obj, patch = &clusterv1.MachineDeployment{}, fmt.Sprintf(`{"spec":{"template":{"spec":{"version":%q}}}}`, ch.To)
			default:
				t.Fatalf("step %d: cannot patch %s", s.Number, ch.Object.Kind)
			}
			if err := env.Client.Get(ctx, key, obj); err != nil {
				t.Fatal(err)
			}
			if err := env.Client.Patch(ctx, obj, ctrlclient.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
				t.Fatalf("step %d: %v", s.Number, err)
			}
		}
		if err := waitStep(ctx, r.ns, r.name, s); err != nil {
			t.Fatalf("step %d: %v", s.Number, err)
		}
	}
}

func patchTopologyVersion(ctx context.Context, t testing.TB, ns, name, version string) {
	t.Helper()
	c := &clusterv1.Cluster{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, c); err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`{"spec":{"topology":{"version":%q}}}`, version)
	if err := env.Client.Patch(ctx, c, ctrlclient.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("setting spec.topology.version to %s: %v", version, err)
	}
}

// compare checks the observation against the plan's predictions, step by step.
func (r *run) compare(t testing.TB, plan *planner.ClusterPlan) {
	t.Helper()
	want, got := predicted(plan), r.obs.movements(plan)
	for _, d := range diff(want, got) {
		t.Error(d)
	}
	for _, u := range r.obs.unattributed(plan) {
		t.Errorf("not in the plan: %s", u)
	}
	for _, o := range r.obs.outOfOrder(plan) {
		t.Errorf("not in the plan's order: %s", o)
	}
	if t.Failed() {
		t.Logf("predicted:\n%s\nobserved:\n%s", describe(want), describe(got))
	}
	// Durations are logged here, not asserted: side by side on two cores a
	// rollout takes up to four times as long as alone. BenchmarkEstimates
	// runs scenarios alone and holds the estimates to a bound.
	for _, e := range r.estimates(plan) {
		t.Log(e)
	}
	t.Logf("the Machines' timeline:\n%s", strings.Join(r.obs.timeline, "\n"))
	r.compareHooks(t, plan)
	r.compareDesired(t, plan)
}

// estimate is one change's duration: observed, and as the plan estimated it.
type estimate struct {
	step      int
	change    planner.Change
	took      time.Duration // from its object's spec at the version to the object at rest there
	moved     time.Duration // from the first Machine that moved to the last
	estimated *planner.Estimate
}

// ratio is the estimate over the time taken; 0 without either.
func (e estimate) ratio() float64 {
	if e.estimated == nil || e.took <= 0 {
		return 0
	}
	return float64(e.estimated.Seconds) / e.took.Seconds()
}

func (e estimate) String() string {
	est := "no estimate"
	if r := e.ratio(); r > 0 {
		est = fmt.Sprintf("estimated %ds (%.2fx) from %s", e.estimated.Seconds, r, e.estimated.Basis)
	}
	return fmt.Sprintf("step %d %s %s->%s: took %s from its spec change to at rest (Machines moved for %s); %s",
		e.step, e.change.Object.Name, e.change.From, e.change.To, e.took.Round(time.Second), e.moved.Round(time.Second), est)
}

// estimates are the plan's changes with the time each took.
func (r *run) estimates(plan *planner.ClusterPlan) []estimate {
	var out []estimate
	for _, s := range plan.Steps {
		for _, ch := range s.Changes {
			e := estimate{step: s.Number, change: ch, took: r.obs.stepDuration(ch), moved: r.obs.duration(ch)}
			if ch.Prediction != nil {
				e.estimated = ch.Prediction.Duration
			}
			out = append(out, e)
		}
	}
	return out
}

// compareHooks checks the lifecycle hooks the test extension recorded (one
// "<hook>-<versions>-actualResponseStatus" key per call site) against the plan.
func (r *run) compareHooks(t testing.TB, plan *planner.ClusterPlan) {
	t.Helper()
	recorded, err := r.hooksCalled(context.Background())
	if err != nil {
		t.Errorf("reading the test extension's record of hook calls: %v", err)
		return
	}
	var called []string
	for h := range recorded {
		if !r.hooksBefore[h] {
			called = append(called, h)
		}
	}
	sort.Strings(called)
	want := predictedHooks(plan)
	if len(want) == 0 && plan.Mode == planner.ModeTopology {
		t.Error("the plan of a topology Cluster calls no lifecycle hook, though the extension registers them")
	}
	if !slices.Equal(called, want) {
		t.Errorf("hooks called:\n  %v\npredicted:\n  %v", called, want)
	}
	order, err := hookCallOrder(r.ns, r.name, r.hookLogFrom)
	if err != nil {
		t.Errorf("reading the order of the hook calls: %v", err)
		return
	}
	if wantOrder := predictedHookOrder(plan); !slices.Equal(order, wantOrder) {
		t.Errorf("hooks called in the order:\n  %v\npredicted in the order:\n  %v", order, wantOrder)
	}
}

// hooksCalled are the upgrade hook calls the test extension recorded for the
// Cluster: one "<hook>-<versions>-actualResponseStatus" key per call site.
func (r *run) hooksCalled(ctx context.Context) (map[string]bool, error) {
	cm := &corev1.ConfigMap{}
	key := types.NamespacedName{Namespace: r.ns, Name: fmt.Sprintf("%s-%s-test-extension-hookresponses", r.name, r.ext.Name)}
	// The extension creates it at its first call: without one, no hook was called.
	if err := env.Client.Get(ctx, key, cm); err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	called := map[string]bool{}
	for k := range cm.Data {
		if h, ok := strings.CutSuffix(k, "-actualResponseStatus"); ok && !strings.HasPrefix(h, "BeforeClusterCreate") && !strings.HasPrefix(h, "AfterControlPlaneInitialized") {
			called[h] = true
		}
	}
	return called, nil
}

// markHooks records which hook calls came before the upgrade that starts.
func (r *run) markHooks(ctx context.Context, t testing.TB) {
	t.Helper()
	before, err := r.hooksCalled(ctx)
	if err != nil {
		t.Fatalf("reading the test extension's record of hook calls: %v", err)
	}
	fi, err := os.Stat(hookLog())
	if err != nil {
		t.Fatal(err)
	}
	r.hooksBefore, r.hookLogFrom = before, fi.Size()
}

func hookLog() string { return filepath.Join(env.Dir, "logs", "test-extension.log") }

// settle waits until the Cluster's last upgrade is over for CAPI: neither
// AfterClusterUpgrade in its pending hooks nor the topology controller's
// upgrade-step annotation, the state after which CAPI v1.14.2 stops calling
// the hook again (see upgrade.previousUpgradeFinished), so that the next plan
// is not refused for it and its calls are not the next upgrade's.
func (r *run) settle(ctx context.Context, t testing.TB) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("CAPI finished the upgrade %s after it landed", time.Since(start).Round(time.Second)) }()
	err := wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		c := &clusterv1.Cluster{}
		if err := env.Client.Get(ctx, types.NamespacedName{Namespace: r.ns, Name: r.name}, c); err != nil {
			return false, nil
		}
		_, tracked := c.Annotations[clusterv1.ClusterTopologyUpgradeStepAnnotation]
		return !tracked && !slices.Contains(strings.Split(c.Annotations[runtimev1.PendingHooksAnnotation], ","), "AfterClusterUpgrade"), nil
	})
	if err != nil {
		t.Fatalf("waiting for CAPI to finish the upgrade (AfterClusterUpgrade called, annotation %s dropped): %v", clusterv1.ClusterTopologyUpgradeStepAnnotation, err)
	}
}

// hookResponseRE matches the line the test extension logs as it answers a
// lifecycle hook (test/extension/handlers/lifecycle/handlers.go): the hook
// with the versions of its request, and the Cluster.
var hookResponseRE = regexp.MustCompile(`"([A-Za-z]+(?:-v[^ ]+)*) response is [A-Za-z]+\. retry: \d+" Cluster="([^"]+)"`)

// hookCallOrder reads the test extension's log for the upgrade hooks it
// answered for a Cluster, in the order it answered them. A hook answered
// again right after itself (retried while blocking, or AfterClusterUpgrade,
// which CAPI v1.14.2 may call several times after an upgrade) counts once.
func hookCallOrder(ns, name string, from int64) ([]string, error) {
	f, err := os.Open(hookLog())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := hookResponseRE.FindStringSubmatch(sc.Text())
		if m == nil || m[2] != ns+"/"+name || strings.HasPrefix(m[1], "BeforeClusterCreate") || strings.HasPrefix(m[1], "AfterControlPlaneInitialized") {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != m[1] {
			out = append(out, m[1])
		}
	}
	return out, sc.Err()
}

// predictedHooks names the plan's hook calls as the test extension records
// them (the hook and the versions of its request), once each, sorted.
func predictedHooks(plan *planner.ClusterPlan) []string {
	out := predictedHookOrder(plan)
	sort.Strings(out)
	return slices.Compact(out)
}

// predictedHookOrder names the plan's hook calls in the order the plan says
// they are made: each step's hooks before, then its hooks after.
func predictedHookOrder(plan *planner.ClusterPlan) []string {
	var out []string
	// The upgrade a step belongs to: the one write of a chained upgrade, or
	// the write per minor that starts it.
	upgradeFrom, upgradeTo := plan.Current.Topology, plan.Target
	for _, s := range plan.Steps {
		if len(s.Changes) == 0 {
			continue
		}
		from, to := s.Changes[0].From, s.Changes[0].To
		if w := s.Changes[0].Patch; w != nil && w.Field == "spec.topology.version" {
			upgradeFrom, upgradeTo = w.From, w.To
		}
		for _, h := range append(append([]planner.Hook{}, s.HooksBefore...), s.HooksAfter...) {
			switch h.Name {
			case "BeforeClusterUpgrade":
				out = append(out, fmt.Sprintf("%s-%s-%s", h.Name, upgradeFrom, upgradeTo))
			case "BeforeControlPlaneUpgrade", "BeforeWorkersUpgrade":
				out = append(out, fmt.Sprintf("%s-%s-%s", h.Name, from, to))
			default:
				out = append(out, fmt.Sprintf("%s-%s", h.Name, to))
			}
		}
	}
	return out
}

// waitStep waits until every object of an unmanaged step is at rest at its version.
func waitStep(ctx context.Context, ns, name string, s planner.Step) error {
	for _, ch := range s.Changes {
		if err := env.WaitObjectAt(ctx, ch.Object.Kind, ns, ch.Object.Name, ch.To, 8*time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// releaseWorkersAfterStall waits until the control plane has reached the target
// while the workers stay behind for a while (the stall the plan's blockers
// predict), then removes every annotation from the topology's MachineDeployments.
func releaseWorkersAfterStall(ctx context.Context, t testing.TB, r *run, plan *planner.ClusterPlan) {
	t.Helper()
	c := &clusterv1.Cluster{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: r.ns, Name: r.name}, c); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitObjectAt(ctx, "KubeadmControlPlane", r.ns, c.Spec.ControlPlaneRef.Name, r.to, 8*time.Minute); err != nil {
		t.Fatal(err)
	}
	// The stall: once the control plane's kubelets report the version too (the
	// topology controller reads them), it says the workers are deferred. Until
	// the annotations go, the workers must not move.
	reason := ""
	_ = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, types.NamespacedName{Namespace: r.ns, Name: r.name}, c); err != nil {
			return false, err
		}
		reason = conditions.GetReason(c, clusterv1.ClusterTopologyReconciledCondition)
		return reason == clusterv1.ClusterTopologyReconciledMachineDeploymentsUpgradeDeferredReason, nil
	})
	time.Sleep(5 * time.Second)
	mds := &clusterv1.MachineDeploymentList{}
	if err := env.Client.List(ctx, mds, ctrlclient.InNamespace(r.ns)); err != nil {
		t.Fatal(err)
	}
	for _, md := range mds.Items {
		if md.Spec.Template.Spec.Version == r.to {
			t.Errorf("MachineDeployment %s moved to %s while held", md.Name, r.to)
		}
	}
	blocked := false
	for _, s := range plan.Steps {
		for _, b := range s.Blockers {
			blocked = blocked || b.Rule == planner.RuleUpgradeDeferred
		}
	}
	if !blocked || reason != clusterv1.ClusterTopologyReconciledMachineDeploymentsUpgradeDeferredReason {
		t.Errorf("stalled: the plan has an %s blocker: %v; the topology controller says %s: %s", planner.RuleUpgradeDeferred, blocked,
			reason, conditions.GetMessage(c, clusterv1.ClusterTopologyReconciledCondition))
	}
	patch := ctrlclient.MergeFrom(c.DeepCopy())
	for i := range c.Spec.Topology.Workers.MachineDeployments {
		c.Spec.Topology.Workers.MachineDeployments[i].Metadata.Annotations = nil
	}
	if err := env.Client.Patch(ctx, c, patch); err != nil {
		t.Fatalf("removing the workers' annotations: %v", err)
	}
}

// deleteOldWorkers plays the operator of an OnDelete MachineDeployment: once its
// spec has moved to the target, it deletes the Machines still at an older version.
func deleteOldWorkers(ctx context.Context, t testing.TB, r *run, _ *planner.ClusterPlan) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		mds := &clusterv1.MachineDeploymentList{}
		if err := env.Client.List(ctx, mds, ctrlclient.InNamespace(r.ns)); err != nil {
			return false, err
		}
		for _, md := range mds.Items {
			if md.Spec.Template.Spec.Version != r.to {
				return false, nil
			}
		}
		machines := &clusterv1.MachineList{}
		if err := env.Client.List(ctx, machines, ctrlclient.InNamespace(r.ns), ctrlclient.HasLabels{clusterv1.MachineDeploymentNameLabel}); err != nil {
			return false, err
		}
		old := 0
		for i := range machines.Items {
			m := &machines.Items[i]
			if m.Spec.Version != r.to {
				old++
				if m.DeletionTimestamp.IsZero() {
					if err := env.Client.Delete(ctx, m); err != nil && !apierrors.IsNotFound(err) {
						return false, err
					}
				}
			}
		}
		return old == 0, nil
	})
	if err != nil {
		t.Fatalf("deleting the OnDelete MachineDeployment's old Machines: %v", err)
	}
}
