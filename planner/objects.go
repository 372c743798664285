package planner

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/state"
)

// controlPlane is a control plane object read through the CAPI contract fields.
type controlPlane struct {
	ref ObjectRef
	// version is spec.version.
	version string
	// observed are status.versions[].version, or status.version.
	observed []string
}

func readControlPlane(u *unstructured.Unstructured) (controlPlane, error) {
	cp := controlPlane{ref: ObjectRef{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}}
	v, found, err := unstructured.NestedString(u.Object, "spec", "version")
	if err != nil || !found || v == "" {
		return cp, fmt.Errorf("%s has no spec.version: a control plane must set it to plan an upgrade (the CAPI contract field for the Kubernetes version)", cp.ref)
	}
	if _, err := parseVersion(v); err != nil {
		return cp, fmt.Errorf("%s spec.version %q is not a Kubernetes version such as v1.33.4", cp.ref, v)
	}
	cp.version = v
	versions, _, _ := unstructured.NestedSlice(u.Object, "status", "versions")
	for _, item := range versions {
		if m, ok := item.(map[string]any); ok {
			if s, ok := m["version"].(string); ok && s != "" {
				cp.observed = append(cp.observed, s)
			}
		}
	}
	if len(cp.observed) == 0 {
		if s, _, _ := unstructured.NestedString(u.Object, "status", "version"); s != "" {
			cp.observed = []string{s}
		}
	}
	return cp, nil
}

// provisioning mirrors the contract's IsProvisioning: no version observed yet.
func (cp controlPlane) provisioning() bool { return len(cp.observed) == 0 }

// upgrading mirrors the contract's IsUpgrading (internal/contract/controlplane.go:303-353):
// some observed version is lower than spec.version.
func (cp controlPlane) upgrading() bool {
	spec, err := parseVersion(cp.version)
	if err != nil {
		return false
	}
	for _, o := range cp.observed {
		ov, err := parseVersion(o)
		if err == nil && compareVersions(ov, spec) == -1 {
			return true
		}
	}
	return false
}

// workerSet is the Cluster's MachineDeployments and MachinePools in upgrade order.
type workerSet struct {
	mds, mps []*simWorker
	// unmanaged are MachineDeployments/MachinePools of a topology Cluster that the
	// topology does not own: the topology controller never upgrades them.
	unmanaged []ObjectRef
	// missing are topology entries without an object yet (created at the target version).
	missing []missingWorker
	// objects keeps the typed MachineDeployments by reference for the rules that need Machines.
	objects map[ObjectRef]*clusterv1.MachineDeployment
	pools   map[ObjectRef]*clusterv1.MachinePool
}

func (ws *workerSet) all() []*simWorker { return append(append([]*simWorker{}, ws.mds...), ws.mps...) }

// readWorkers collects the Cluster's workers. For topology Clusters they come in
// spec.topology.workers order, with the defer/hold annotations of their entries.
func readWorkers(st *state.State, c *clusterv1.Cluster, topology bool) workerSet {
	ws := workerSet{objects: map[ObjectRef]*clusterv1.MachineDeployment{}, pools: map[ObjectRef]*clusterv1.MachinePool{}}
	var mdEntries, mpEntries []topologyEntry
	if topology {
		for _, e := range c.Spec.Topology.Workers.MachineDeployments {
			mdEntries = append(mdEntries, topologyEntry{name: e.Name, annotations: e.Metadata.Annotations})
		}
		for _, e := range c.Spec.Topology.Workers.MachinePools {
			mpEntries = append(mpEntries, topologyEntry{name: e.Name, annotations: e.Metadata.Annotations})
		}
	}
	var mdObjs []workerObject
	for _, md := range st.MachineDeploymentsOf(c) {
		ref := ObjectRef{Kind: "MachineDeployment", Namespace: md.Namespace, Name: md.Name}
		ws.objects[ref] = md
		w := &simWorker{ref: ref, version: md.Spec.Template.Spec.Version,
			kubeadmBootstrap: isKubeadmConfigTemplate(md.Spec.Template.Spec.Bootstrap.ConfigRef),
			skippedPreflight: skippedChecks(md.Annotations[clusterv1.MachineSetSkipPreflightChecksAnnotation])}
		mdObjs = append(mdObjs, workerObject{w, md.Labels})
	}
	var mpObjs []workerObject
	for _, mp := range st.MachinePoolsOf(c) {
		ref := ObjectRef{Kind: "MachinePool", Namespace: mp.Namespace, Name: mp.Name}
		ws.pools[ref] = mp
		mpObjs = append(mpObjs, workerObject{&simWorker{ref: ref, version: mp.Spec.Template.Spec.Version}, mp.Labels})
	}
	if !topology {
		ws.mds, ws.mps = plain(mdObjs), plain(mpObjs)
		return ws
	}
	ws.mds = ws.order(mdObjs, mdEntries, clusterv1.ClusterTopologyMachineDeploymentNameLabel)
	ws.mps = ws.order(mpObjs, mpEntries, clusterv1.ClusterTopologyMachinePoolNameLabel)
	return ws
}

type missingWorker struct{ kind, name string }

type topologyEntry struct {
	name        string
	annotations map[string]string
}

type workerObject struct {
	w      *simWorker
	labels map[string]string
}

func plain(objs []workerObject) []*simWorker {
	out := make([]*simWorker, len(objs))
	for i, o := range objs {
		out[i] = o.w
	}
	return out
}

// order returns the topology-owned workers in entry order, marking deferred ones
// the way isMachineDeploymentDeferred does (desired_state.go:1185-1212): an entry is
// deferred by its own defer-upgrade or hold-upgrade-sequence annotation, or by a
// hold-upgrade-sequence annotation on any earlier entry.
func (ws *workerSet) order(objs []workerObject, entries []topologyEntry, nameLabel string) []*simWorker {
	byEntry := map[string]*simWorker{}
	var extra []*simWorker
	for _, o := range objs {
		if _, owned := o.labels[clusterv1.ClusterTopologyOwnedLabel]; !owned {
			ws.unmanaged = append(ws.unmanaged, o.w.ref)
			continue
		}
		name := o.labels[nameLabel]
		o.w.topologyName = name
		if _, dup := byEntry[name]; dup || name == "" {
			extra = append(extra, o.w)
			continue
		}
		byEntry[name] = o.w
	}
	var out []*simWorker
	held := false
	for _, e := range entries {
		w, ok := byEntry[e.name]
		_, hold := e.annotations[clusterv1.ClusterTopologyHoldUpgradeSequenceAnnotation]
		_, deferUpgrade := e.annotations[clusterv1.ClusterTopologyDeferUpgradeAnnotation]
		switch {
		case hold:
			held = true
			if ok {
				w.deferredBy = clusterv1.ClusterTopologyHoldUpgradeSequenceAnnotation
			}
		case deferUpgrade && ok:
			w.deferredBy = clusterv1.ClusterTopologyDeferUpgradeAnnotation
		case held && ok:
			w.deferredBy = "held by " + clusterv1.ClusterTopologyHoldUpgradeSequenceAnnotation + " on an earlier entry"
		}
		if !ok {
			ws.missing = append(ws.missing, missingWorker{kind: kindOf(nameLabel), name: e.name})
			continue
		}
		out = append(out, w)
		delete(byEntry, e.name)
	}
	// Owned objects whose entry is gone are being deleted by the topology
	// controller, but until then CAPI still counts them for the minimum version.
	for _, w := range byEntry {
		extra = append(extra, w)
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].ref.Name < extra[j].ref.Name })
	return append(out, extra...)
}

func kindOf(nameLabel string) string {
	if nameLabel == clusterv1.ClusterTopologyMachinePoolNameLabel {
		return "MachinePool"
	}
	return "MachineDeployment"
}

func isKubeadmConfigTemplate(ref clusterv1.ContractVersionedObjectReference) bool {
	return ref.Kind == "KubeadmConfigTemplate" && ref.APIGroup == "bootstrap.cluster.x-k8s.io"
}

func skippedChecks(annotation string) map[string]bool {
	out := map[string]bool{}
	for _, c := range strings.Split(annotation, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out[c] = true
		}
	}
	return out
}

// upgradeConcurrency reads topology.cluster.x-k8s.io/upgrade-concurrency like
// scope.New does: 1 by default, values below 1 clamped to 1.
func upgradeConcurrency(c *clusterv1.Cluster) (int, *Finding) {
	v, ok := c.Annotations[clusterv1.ClusterTopologyUpgradeConcurrencyAnnotation]
	if !ok {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 1, &Finding{Rule: RuleInvalidUpgradeConcurrency, Objects: []ObjectRef{*clusterRef(c)},
			Message: fmt.Sprintf("annotation %s=%q is not an integer >= 1; CAPI's webhook rejects it on update and the controller uses 1", clusterv1.ClusterTopologyUpgradeConcurrencyAnnotation, v)}
	}
	return n, nil
}

func clusterRef(c *clusterv1.Cluster) *ObjectRef {
	return &ObjectRef{Kind: "Cluster", Namespace: c.Namespace, Name: c.Name}
}
