package planner

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/state"
)

// A Cluster that has not rolled out or updated Machines in place before
// shows neither how long its controllers take around each replaced Machine
// (their checks, deleting the old one) nor how long its in-place extension
// takes. The Clusters beside it may: a fleet is usually upgraded one Cluster
// after another. Peers are the other Clusters of the same namespace whose
// Machines have the same kind of infrastructure: the same provider, and the
// same runtime extensions (an ExtensionConfig selects namespaces). The
// namespace also keeps a plan of a snapshot of it equal to a live plan.

// groupPace is the pace of one group of a Cluster's Machines: its control
// plane's, or its MachineDeployments'.
type groupPace struct {
	cluster      string
	controlPlane bool
	// infrastructure is the kind of the group's infrastructure Machines;
	// empty when they are of several kinds, which makes it nobody's peer.
	infrastructure string
	pace           *pace
}

// fleetPaces learns the paces of the Clusters of a namespace once per plan.
type fleetPaces struct {
	st          *state.State
	byNamespace map[string]*namespacePaces
}

func newFleetPaces(st *state.State) *fleetPaces {
	return &fleetPaces{st: st, byNamespace: map[string]*namespacePaces{}}
}

// of is the Cluster's control plane and worker paces: its own, with what its
// peers showed where its own Machines show nothing.
func (f *fleetPaces) of(c *clusterv1.Cluster) (controlPlane, workers *pace) {
	ns := f.namespace(c.Namespace)
	for _, g := range ns.groups {
		if g.cluster != c.Name {
			continue
		}
		if g.controlPlane {
			controlPlane = g.withPeers(ns)
		} else {
			workers = g.withPeers(ns)
		}
	}
	return controlPlane, workers
}

func (f *fleetPaces) namespace(name string) *namespacePaces {
	if ns, ok := f.byNamespace[name]; ok {
		return ns
	}
	var groups []groupPace
	for _, c := range f.st.Clusters {
		if c.Namespace != name {
			continue
		}
		cpMachines, workerMachines := machineGroups(f.st, c)
		cp, workers := clusterPaces(c, cpMachines, workerMachines)
		groups = append(groups,
			groupPace{cluster: c.Name, controlPlane: true, infrastructure: infrastructureKind(cpMachines), pace: cp},
			groupPace{cluster: c.Name, infrastructure: infrastructureKind(workerMachines...), pace: workers})
	}
	ns := poolPaces(groups)
	f.byNamespace[name] = ns
	return ns
}

// namespacePaces are the paces of the groups of a namespace's Clusters, and
// what they show that a group without a history of its own can take.
type namespacePaces struct {
	groups []groupPace
	// overhead pools, by infrastructure and kind of group, how much longer
	// than their readiness the Machines of past rollouts took; inPlace, by
	// infrastructure, the gaps between the ends of in-place updates.
	overhead map[poolKey]*pool
	inPlace  map[string]*pool
}

type poolKey struct {
	infrastructure string
	controlPlane   bool
}

// pool is samples of several groups, and the Clusters they came from.
type pool struct {
	samples  []time.Duration
	clusters map[string]bool
	median   sample
}

func (p *pool) add(cluster string, samples ...time.Duration) {
	p.samples = append(p.samples, samples...)
	p.clusters[cluster] = true
}

// poolPaces pools the groups' histories once: a group takes from a pool only
// what it does not show itself, so it is never in the pool it takes from.
func poolPaces(groups []groupPace) *namespacePaces {
	ns := &namespacePaces{groups: groups, overhead: map[poolKey]*pool{}, inPlace: map[string]*pool{}}
	get := func(p *pool) *pool {
		if p == nil {
			p = &pool{clusters: map[string]bool{}}
		}
		return p
	}
	for _, g := range groups {
		if g.pace == nil || g.infrastructure == "" {
			continue
		}
		if g.pace.ownCycle() {
			key := poolKey{g.infrastructure, g.controlPlane}
			ns.overhead[key] = get(ns.overhead[key])
			ns.overhead[key].add(g.cluster, g.pace.cycle.median-g.pace.ready.median)
		}
		if len(g.pace.updateGaps) > 0 {
			ns.inPlace[g.infrastructure] = get(ns.inPlace[g.infrastructure])
			ns.inPlace[g.infrastructure].add(g.cluster, g.pace.updateGaps...)
		}
	}
	for _, p := range ns.overhead {
		p.median = median(p.samples)
	}
	for _, p := range ns.inPlace {
		p.median = median(p.samples)
	}
	return ns
}

// machineGroups are a Cluster's control plane Machines and its
// MachineDeployments' Machines, by MachineDeployment.
func machineGroups(st *state.State, c *clusterv1.Cluster) (controlPlane []*clusterv1.Machine, workers [][]*clusterv1.Machine) {
	if u := st.ControlPlane(c); u != nil {
		controlPlane = st.ControlPlaneMachines(u.GetNamespace(), u.GetName())
	}
	for _, md := range st.MachineDeploymentsOf(c) {
		workers = append(workers, st.MachinesOf(md))
	}
	return controlPlane, workers
}

// clusterPaces are how fast a Cluster's control plane and MachineDeployments
// have created and updated Machines so far, from their Machines alone.
func clusterPaces(c *clusterv1.Cluster, cpMachines []*clusterv1.Machine, workerMachines [][]*clusterv1.Machine) (controlPlane, workers *pace) {
	initialized := lastTurned(c.Status.Conditions, clusterv1.ClusterControlPlaneInitializedCondition, metav1.ConditionTrue)
	controlPlane = learnPace([][]*clusterv1.Machine{cpMachines}, initialized, false)
	if controlPlane != nil {
		controlPlane.deletionWait = kcpDeletionRecheck
	}
	return controlPlane, joinersPace(learnPace(workerMachines, initialized, true), controlPlane)
}

// infrastructureKind is the kind of the Machines' infrastructure; empty for
// none, or for several.
func infrastructureKind(groups ...[]*clusterv1.Machine) string {
	kind := ""
	for _, ms := range groups {
		for _, m := range ms {
			switch k := m.Spec.InfrastructureRef.Kind; {
			case kind == "":
				kind = k
			case k != kind:
				return ""
			}
		}
	}
	return kind
}

// withPeers is the group's pace, with its peers' where its own Machines
// show nothing:
//   - the controllers' time around each replaced Machine, when its own past
//     rollouts do not show it: how much longer a peer's rollout took per
//     Machine (its cycle) than its Machines took to be ready, for groups of
//     the same kind (KubeadmControlPlane and MachineDeployments pace their
//     rollouts differently);
//   - in-place updates, when none of its own were one after the other: the
//     gaps between the ends of its peers' in-place updates, and of its
//     Cluster's other group's, as the same extension updates them all.
func (g groupPace) withPeers(ns *namespacePaces) *pace {
	if g.pace == nil || g.infrastructure == "" {
		return g.pace
	}
	p := *g.pace
	if o := ns.overhead[poolKey{g.infrastructure, g.controlPlane}]; o != nil && !p.ownCycle() {
		p.peerOverhead, p.peerOverheadFrom = o.median, peersOf(o.clusters, g)
	}
	if u := ns.inPlace[g.infrastructure]; u != nil && p.inPlace.n == 0 {
		p.peerInPlace, p.peerInPlaceFrom = u.median, peersOf(u.clusters, g)
	}
	return &p
}

// peersOf says which Clusters a peer sample came from.
func peersOf(clusters map[string]bool, g groupPace) string {
	others := len(clusters)
	if clusters[g.cluster] {
		others--
	}
	switch {
	case others == 0:
		return "this Cluster's other Machines"
	case clusters[g.cluster]:
		return fmt.Sprintf("this Cluster's other Machines and %d other Cluster(s) of its namespace with %s Machines", others, g.infrastructure)
	default:
		return fmt.Sprintf("%d other Cluster(s) of its namespace with %s Machines", others, g.infrastructure)
	}
}
