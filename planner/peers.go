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
	byNamespace map[string][]groupPace
}

func newFleetPaces(st *state.State) *fleetPaces {
	return &fleetPaces{st: st, byNamespace: map[string][]groupPace{}}
}

// of is the Cluster's control plane and worker paces: its own, with what its
// peers showed where its own Machines show nothing.
func (f *fleetPaces) of(c *clusterv1.Cluster) (controlPlane, workers *pace) {
	groups := f.namespace(c.Namespace)
	for _, g := range groups {
		if g.cluster != c.Name {
			continue
		}
		if g.controlPlane {
			controlPlane = g.withPeers(groups)
		} else {
			workers = g.withPeers(groups)
		}
	}
	return controlPlane, workers
}

func (f *fleetPaces) namespace(ns string) []groupPace {
	if groups, ok := f.byNamespace[ns]; ok {
		return groups
	}
	var groups []groupPace
	for _, c := range f.st.Clusters {
		if c.Namespace != ns {
			continue
		}
		cpMachines, workerMachines := machineGroups(f.st, c)
		cp, workers := clusterPaces(c, cpMachines, workerMachines)
		groups = append(groups,
			groupPace{cluster: c.Name, controlPlane: true, infrastructure: infrastructureKind(cpMachines), pace: cp},
			groupPace{cluster: c.Name, infrastructure: infrastructureKind(workerMachines...), pace: workers})
	}
	f.byNamespace[ns] = groups
	return groups
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
func (g groupPace) withPeers(groups []groupPace) *pace {
	if g.pace == nil || g.infrastructure == "" {
		return g.pace
	}
	p := *g.pace
	var overheads, updates []time.Duration
	clusters := map[string]bool{}
	inPlaceFrom := map[string]bool{}
	for _, peer := range groups {
		if peer.pace == nil || peer.infrastructure != g.infrastructure || (peer.cluster == g.cluster && peer.controlPlane == g.controlPlane) {
			continue
		}
		if !p.ownCycle() && peer.cluster != g.cluster && peer.controlPlane == g.controlPlane && peer.pace.ownCycle() {
			overheads = append(overheads, peer.pace.cycle.median-peer.pace.ready.median)
			clusters[peer.cluster] = true
		}
		if p.inPlace.n == 0 && len(peer.pace.updateGaps) > 0 {
			updates = append(updates, peer.pace.updateGaps...)
			inPlaceFrom[peer.cluster] = true
		}
	}
	if len(overheads) > 0 {
		p.peerOverhead, p.peerOverheadFrom = median(overheads), peersOf(clusters, g)
	}
	if len(updates) > 0 {
		p.peerInPlace, p.peerInPlaceFrom = median(updates), peersOf(inPlaceFrom, g)
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
