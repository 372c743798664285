package planner

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/internal/topologypatch"
	"github.com/capi-planner/capi-planner/state"
)

// predictor predicts the Machines of one Cluster's changes.
type predictor struct {
	// ctx is Plan's, for patch evaluation and extension calls.
	ctx      context.Context
	asker    InPlaceAsker
	st       *state.State
	cluster  *clusterv1.Cluster
	now      time.Time
	gates    gates
	hooks    hookRegistry
	covered  []string
	patchUse map[string][]string // version builtin -> patch names using it
	// patches evaluates the ClusterClass's patches (nil without patches, or
	// when they cannot be evaluated: patchErr says why).
	patches  *topologypatch.Evaluator
	patchErr error
	// The versions the patches are evaluated at: spec.topology.version before and
	// after the trigger, and the control plane's current version.
	fromTopology, toTopology, controlPlaneVersion string
	fleet                                         *fleetPaces
}

func newPredictor(p *clusterPlanner, cc *clusterv1.ClusterClass, hooks hookRegistry) *predictor {
	covered := append([]string{DiffVersion}, p.opts.AssumeCovered...)
	pr := &predictor{ctx: p.ctx, asker: p.opts.InPlaceAsker, st: p.st, cluster: p.cluster, now: p.opts.Now, gates: p.gates,
		hooks: hooks, covered: covered, patchUse: versionBuiltinPatches(cc), fleet: p.fleet}
	if cc != nil {
		// Also without patches: the ClusterClass's templates may have changed since
		// the topology controller last applied them (classDrift).
		pr.patches, pr.patchErr = topologypatch.New(p.st, p.cluster, cc, p.opts.RuntimeClient, p.sharedPatches)
	}
	pr.fromTopology, pr.toTopology, pr.controlPlaneVersion = p.cluster.Spec.Topology.Version, p.out.Target, p.out.Current.ControlPlane
	return pr
}

// predict fills in the prediction of every change of the plan, and the totals.
func (pr *predictor) predict(steps []Step) (*MachineCounts, *Estimate) {
	total := &MachineCounts{}
	cpPace, workerPace := pr.fleet.of(pr.cluster)
	for i := range steps {
		s := &steps[i]
		stepTotal := &MachineCounts{}
		for j := range s.Changes {
			c := &s.Changes[j]
			c.Prediction = pr.change(c, i == pr.firstStepOf(steps, c.Object))
			n := c.Prediction.Counts
			switch c.Object.Kind {
			case "KubeadmControlPlane":
				c.Prediction.Duration = cpPace.estimate(n, c.Prediction.parallel)
			case "MachineDeployment":
				c.Prediction.Duration = workerPace.estimate(n, c.Prediction.parallel)
			}
			stepTotal.add(c.Prediction.Counts)
			if c.Prediction.Rule == RuleManyExtensions || c.Prediction.Rule == RuleOnDelete {
				s.Blockers = append(s.Blockers, Blocker{Rule: c.Prediction.Rule, Objects: []ObjectRef{c.Object}, Message: c.Prediction.Reasons[0]})
			}
		}
		s.Machines = stepTotal
		s.Duration = stepEstimate(s)
		total.add(*stepTotal)
	}
	return total, totalEstimate(steps)
}

func (pr *predictor) firstStepOf(steps []Step, obj ObjectRef) int {
	for i, s := range steps {
		for _, c := range s.Changes {
			if c.Object == obj {
				return i
			}
		}
	}
	return -1
}

func (pr *predictor) change(c *Change, firstStep bool) *Prediction {
	switch c.Object.Kind {
	case "MachinePool":
		n := pr.poolReplicas(c.Object)
		return &Prediction{Verdict: VerdictRollout, Basis: BasisRules, Rule: RuleMachinePool, Differences: []string{DiffVersion},
			Reasons: []string{"CAPI has no in-place path for MachinePools: the infrastructure provider replaces the nodes (for example by an instance refresh)"},
			Counts:  MachineCounts{Created: n, Deleted: n}}
	case "MachineDeployment":
		return pr.machineDeployment(c, firstStep)
	case "KubeadmControlPlane":
		return pr.controlPlane(c, firstStep)
	default:
		return &Prediction{Verdict: VerdictUnknown, Basis: BasisRules, Rule: RuleNotKubeadm, Differences: []string{DiffVersion},
			Reasons: []string{fmt.Sprintf("%s is not a KubeadmControlPlane: how it updates Machines is up to its provider", c.Object.Kind)}}
	}
}

func verdictOf(c MachineCounts) Verdict {
	switch {
	case c.UpdatedInPlace == 0:
		return VerdictRollout
	case c.Created == 0 && c.Deleted == 0:
		return VerdictInPlace
	default:
		return VerdictMixed
	}
}

// kcp reads the Cluster's KubeadmControlPlane (with its topology's rollout.after) and its Machines.
func (pr *predictor) kcp() (*controlplanev1.KubeadmControlPlane, []*clusterv1.Machine) {
	u := pr.st.ControlPlane(pr.cluster)
	if u == nil {
		return nil, nil
	}
	kcp := &controlplanev1.KubeadmControlPlane{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, kcp); err != nil {
		return nil, nil
	}
	if topo := pr.cluster.Spec.Topology.ControlPlane.Rollout.After; kcp.Spec.Rollout.After.IsZero() && !topo.IsZero() {
		kcp.Spec.Rollout.After = topo
	}
	return kcp, pr.st.ControlPlaneMachines(kcp.Namespace, kcp.Name)
}

func (pr *predictor) md(ref ObjectRef) *clusterv1.MachineDeployment {
	for _, md := range pr.st.MachineDeploymentsOf(pr.cluster) {
		if md.Name == ref.Name {
			return md
		}
	}
	return nil
}

func (pr *predictor) poolReplicas(ref ObjectRef) int {
	for _, mp := range pr.st.MachinePoolsOf(pr.cluster) {
		if mp.Name == ref.Name {
			return replicas(mp.Spec.Replicas)
		}
	}
	return 0
}

func hasAnnotation(m *clusterv1.Machine, key string) bool {
	_, ok := m.Annotations[key]
	return ok
}

// replicas is the count of Machines spec.replicas asks for: 1 when unset, as
// CAPI's webhooks default it, and never negative. A snapshot refuses a negative
// count, but the API server accepts one for a MachineDeployment or a MachinePool
// (their schemas do not bound it), so a live object may carry it.
func replicas(p *int32) int {
	return max(0, int(ptrOr(p, 1)))
}

func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
