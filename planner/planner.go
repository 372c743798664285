// Package planner computes how Cluster API will upgrade Clusters to a target
// Kubernetes version. It is pure in this sense: a state in, a plan out, with no
// clock and no I/O of its own. The time is passed in Options, and every live
// call (runtime extensions, the in-place asker) goes through a client injected
// in Options, with the context.Context given to Plan.
//
// For topology Clusters it replays the topology controller decision by decision,
// calling CAPI's own plan code (exp/topology/desiredstate) before each one; for
// unmanaged Clusters it applies the same efficient sequence as patches.
package planner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/blang/semver/v4"
	"k8s.io/apimachinery/pkg/types"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	runtimeclient "sigs.k8s.io/cluster-api/exp/runtime/client"
	"sigs.k8s.io/cluster-api/exp/topology/desiredstate"
	"sigs.k8s.io/cluster-api/util/cache"

	"github.com/capi-planner/capi-planner/catalog"
	"github.com/capi-planner/capi-planner/internal/topologypatch"
	"github.com/capi-planner/capi-planner/state"
)

// Options configure planning.
type Options struct {
	// Now is stamped into the plan.
	Now time.Time
	// Catalog is the Kubernetes release catalog (the version source of unmanaged
	// Clusters and the patch versions known for one-minor ClusterClasses).
	Catalog *catalog.Catalog
	// Versions, when not nil, replaces the catalog and stands in for
	// GenerateUpgradePlan extensions (--versions / --versions-file).
	Versions []string
	// PlannerVersion is stamped into the plan.
	PlannerVersion string
	// FeatureGates, when not nil, replaces the gates read from the controllers'
	// Deployments (InPlaceUpdates, RuntimeSDK) for in-place predictions.
	FeatureGates map[string]bool
	// AssumeCovered are the differences (field paths, see DiffVersion) the in-place
	// extension is assumed to cover besides spec.version.
	AssumeCovered []string
	// InPlaceAsker, when set, asks the in-place extension (live, --ask-extensions);
	// verdicts it answers are Confirmed.
	InPlaceAsker InPlaceAsker
	// Unread lists the kinds that could not be read (for example forbidden), so the
	// plan does not take their absence for a fact.
	Unread []string
	// RuntimeClient, when set, calls GenerateUpgradePlan extensions (live planning).
	// Without it, a ClusterClass with an extension needs Versions to stand in.
	RuntimeClient runtimeclient.Client
}

// InPlaceAsker asks a management cluster's in-place update extension.
type InPlaceAsker interface {
	// CanUpdateMachineSet asks whether the MachineDeployment's Machines can be updated
	// in place to version, with what ClusterClass patches change at that step, and
	// returns the differences the extension does not cover.
	CanUpdateMachineSet(ctx context.Context, handler string, md *clusterv1.MachineDeployment, version string, templates TemplateChanges) ([]string, error)
	// CanUpdateMachine asks the same of each of the KubeadmControlPlane's Machines
	// KCP would update in place, and returns by Machine name the differences the
	// extension does not cover.
	CanUpdateMachine(ctx context.Context, handler string, cluster *clusterv1.Cluster, kcp *controlplanev1.KubeadmControlPlane, version string, templates TemplateChanges) (map[string][]string, error)
}

// TemplateChanges are what ClusterClass patches change at a step besides the
// version, as JSON merge patches (RFC 7386) to the current objects; nil when
// unchanged.
type TemplateChanges struct {
	// KubeadmConfigSpec patches the KubeadmControlPlane's spec.kubeadmConfigSpec.
	KubeadmConfigSpec []byte
	// Bootstrap patches the MachineDeployment's bootstrap template's spec.template.spec.
	Bootstrap []byte
	// Infrastructure patches the InfraMachineTemplate's spec.template.spec (the
	// topology controller rotates the template).
	Infrastructure []byte
}

// Selection says which Clusters to plan and to what.
type Selection struct {
	// Cluster selects one Cluster; nil selects every Cluster (in Namespace, when set).
	Cluster *types.NamespacedName
	// Namespace restricts the Clusters when Cluster is nil; "" means all namespaces.
	Namespace string
	// To is the requested target.
	To Target
}

// Plan computes the upgrade plan of the selected Clusters.
//
// Plan stops at the first Cluster after ctx is canceled and returns ctx's error;
// ctx also bounds every call made through the injected clients.
func Plan(ctx context.Context, st *state.State, sel Selection, opts Options) (*UpgradePlan, error) {
	if opts.Catalog == nil {
		return nil, errors.New("planner: no release catalog given")
	}
	for i, v := range opts.Versions {
		if _, err := parseVersion(v); err != nil || !strings.HasPrefix(v, "v") {
			return nil, &InvalidVersionError{Value: v, Index: i}
		}
	}
	clusters, err := selectClusters(st, sel)
	if err != nil {
		return nil, err
	}
	doc := &UpgradePlan{
		APIVersion: APIVersion,
		Kind:       Kind,
		Metadata: Metadata{
			GeneratedAt:    opts.Now.UTC(),
			PlannerVersion: opts.PlannerVersion,
			Request:        Request{To: sel.To.Raw, Versions: opts.Versions},
			Catalog:        CatalogInfo{Generated: opts.Catalog.Generated, Source: opts.Catalog.Source, Releases: len(opts.Catalog.Releases)},
		},
		Clusters: []ClusterPlan{},
	}
	if sel.Cluster != nil {
		doc.Metadata.Request.Cluster = sel.Cluster.String()
	}
	doc.Metadata.Management = management(st)
	// CAPI caches extension answers per Cluster and versions; one cache per run.
	var extensionCache cache.Cache[desiredstate.GenerateUpgradePlanCacheEntry]
	if opts.RuntimeClient != nil {
		cacheCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		extensionCache = cache.New[desiredstate.GenerateUpgradePlanCacheEntry](cacheCtx, time.Hour)
	}
	// The controllers' gates are the management cluster's: read them once.
	controllerGates := readGates(st, opts.FeatureGates)
	core := coreVersion(st)
	// Clusters of a ClusterClass share what its patches make of their control planes.
	shared := topologypatch.NewShared()
	// A Cluster without a history of its own learns its pace from its peers'.
	paces := newFleetPaces(st)
	// Who may reach the kubelets, and the Kubernetes version the management
	// cluster runs, are the management cluster's: every Cluster's plan says them.
	exposure := append(nodesProxyFindings(st), managementVersionFindings(st)...)
	for _, c := range clusters {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := &clusterPlanner{ctx: ctx, st: st, cluster: c, opts: opts, target: sel.To, extensionCache: extensionCache, gates: controllerGates, coreVersion: core, sharedPatches: shared, fleet: paces}
		cp := p.plan()
		cp.Findings = append(cp.Findings, exposure...)
		rateFindings(cp.Findings)
		doc.Clusters = append(doc.Clusters, cp)
	}
	// A Cluster planned while ctx was canceled may hold errors that only say so: drop the plan.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return doc, nil
}

func selectClusters(st *state.State, sel Selection) ([]*clusterv1.Cluster, error) {
	if len(st.Clusters) == 0 {
		return nil, ErrNoClusters
	}
	var out []*clusterv1.Cluster
	for _, c := range st.Clusters {
		switch {
		case sel.Cluster != nil:
			if state.ClusterKey(c) == *sel.Cluster {
				out = append(out, c)
			}
		case sel.Namespace == "" || c.Namespace == sel.Namespace:
			out = append(out, c)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	var names []string
	for _, c := range st.Clusters {
		names = append(names, c.Namespace+"/"+c.Name)
	}
	return nil, &ClusterNotFoundError{Cluster: sel.Cluster, Namespace: sel.Namespace, Have: names}
}

// clusterPlanner plans one Cluster.
type clusterPlanner struct {
	// ctx is Plan's: it lives as long as one call of Plan.
	ctx            context.Context
	st             *state.State
	cluster        *clusterv1.Cluster
	opts           Options
	target         Target
	extensionCache cache.Cache[desiredstate.GenerateUpgradePlanCacheEntry]
	gates          gates
	// coreVersion is the core controller's version; nil when not read.
	coreVersion *semver.Version
	// sharedPatches shares ClusterClass patch evaluations between Clusters.
	sharedPatches *topologypatch.Shared
	// fleet shares the Clusters' paces between their plans.
	fleet *fleetPaces
	out   ClusterPlan
}

func (p *clusterPlanner) reject(rs ...Rejection) ClusterPlan {
	p.out.Rejections = append(p.out.Rejections, rs...)
	p.out.Status = StatusRejected
	return p.out
}

func (p *clusterPlanner) finding(f Finding) { p.out.Findings = append(p.out.Findings, f) }

func (p *clusterPlanner) plan() ClusterPlan {
	c := p.cluster
	p.out = ClusterPlan{
		Cluster:          *clusterRef(c),
		Mode:             ModeUnmanaged,
		AvailableTargets: []string{},
		UpgradePlan:      UpgradePaths{ControlPlane: []string{}, Workers: []string{}},
		Steps:            []Step{},
	}
	topology := c.Spec.Topology.IsDefined()
	if topology {
		p.out.Mode = ModeTopology
		p.out.Current.Topology = c.Spec.Topology.Version
	}
	if rs := lifecycleRejections(c); len(rs) > 0 {
		return p.reject(rs...)
	}
	ref := c.Spec.ControlPlaneRef
	p.out.ControlPlane = &ObjectRef{Kind: ref.Kind, Namespace: c.Namespace, Name: ref.Name}
	cpObj := p.st.ControlPlane(c)
	if cpObj == nil {
		return p.needsInput(RuleMissingObject, fmt.Sprintf("Cluster %s/%s: its control plane %s (spec.controlPlaneRef) is not in the input: add it to the snapshot, or, if the management cluster does not hold it either, fix spec.controlPlaneRef", c.Namespace, c.Name, p.out.ControlPlane))
	}
	cp, err := readControlPlane(cpObj)
	if err != nil {
		return p.needsInput(RuleMissingObject, err.Error())
	}
	p.out.Current.ControlPlane = cp.version
	p.out.Current.ControlPlaneObserved = cp.observed
	ws := readWorkers(p.st, c, topology)
	for _, w := range ws.all() {
		p.out.Current.Workers = append(p.out.Current.Workers, WorkerVersion{Object: w.ref, Version: w.version})
	}

	var cc *clusterv1.ClusterClass
	base := cp.version
	if topology {
		cc = p.st.ClusterClass(c)
		if cc == nil {
			ccRef := c.GetClassKey()
			return p.needsInput(RuleMissingObject, fmt.Sprintf("Cluster %s/%s: its ClusterClass %s (spec.topology.classRef) is not in the input: add it to the snapshot, or, if the management cluster does not hold it either, fix spec.topology.classRef", c.Namespace, c.Name, ccRef))
		}
		p.out.ClusterClass = &ObjectRef{Kind: "ClusterClass", Namespace: cc.Namespace, Name: cc.Name}
		if rs := classNotReconciled(c, cc); len(rs) > 0 {
			return p.reject(rs...)
		}
		if _, err := parseVersion(c.Spec.Topology.Version); err != nil {
			return p.needsInput(RuleMissingObject, fmt.Sprintf("Cluster %s/%s: spec.topology.version %q is not a Kubernetes version such as v1.33.4", c.Namespace, c.Name, c.Spec.Topology.Version))
		}
		base = c.Spec.Topology.Version
	}

	src, needs := p.versionSource(cc)
	reported := src
	p.out.VersionSource = &reported
	if needs != "" {
		return p.needsInput(RuleExtensionNeedsLiveMode, needs)
	}
	baseV, _ := parseVersion(base)
	p.out.AvailableTargets = availableTargets(src, baseV)
	if p.out.AvailableTargets == nil {
		p.out.AvailableTargets = []string{}
	}
	target, err := resolveTarget(p.target, src, base, p.out.AvailableTargets)
	if err != nil {
		return p.reject(Rejection{Rule: RuleUnknownTarget, Message: fmt.Sprintf("Cluster %s/%s: %v", c.Namespace, c.Name, err)})
	}
	p.out.Target = target
	targetV, _ := parseVersion(target)

	var landed []string
	writes := []string{target}
	if topology {
		landed = notLanded(p.st, cp, ws, base)
		writes = topologyWrites(src, base, target)
		// The webhook's rules apply to every write; the first is the one made
		// on the Cluster as it is, and each later one starts where it landed.
		if rs := topologyVersionRejections(c, cc, base, writes[0], landed); len(rs) > 0 {
			return p.reject(rs...)
		}
		if target != base {
			if rs := variablesRejections(p.ctx, c, cc); len(rs) > 0 {
				return p.reject(rs...)
			}
		}
		if len(writes) == 1 && target != base {
			p.out.Trigger = &Patch{Object: *clusterRef(c), Field: "spec.topology.version", From: base, To: target}
		}
		if len(writes) > 1 {
			p.finding(Finding{Rule: RuleOneMinorPerWrite, Objects: []ObjectRef{*clusterRef(c)},
				Message: fmt.Sprintf("ClusterClass %s/%s has neither spec.kubernetesVersions nor an upgrade-plan extension, so CAPI's Cluster webhook takes one minor per spec.topology.version write: this plan writes %s in turn, each once the previous upgrade has landed (capi-planner apply does that; by hand, a write further ahead is rejected)",
					cc.Namespace, cc.Name, strings.Join(writes, ", then "))})
		}
	} else {
		landed = notLanded(p.st, cp, ws, "")
		if compareVersions(targetV, baseV) == -1 {
			return p.reject(Rejection{Rule: RuleDowngrade, Message: fmt.Sprintf("Cluster %s/%s: %s is older than %s spec.version %s; Kubernetes does not support control plane downgrades (KubeadmControlPlane's webhook does not stop them): choose a target of %s or newer", c.Namespace, c.Name, target, cp.ref, base, base)})
		}
		if len(landed) > 0 && target != base {
			return p.reject(Rejection{Rule: RuleUpgradeInProgress, Message: fmt.Sprintf("Cluster %s/%s: a rollout is under way (%s); capi-planner does not start an upgrade on top of it: wait until it is done and plan again", c.Namespace, c.Name, strings.Join(landed, "; "))})
		}
		if !slices.Contains(src.Versions, target) {
			p.finding(Finding{Rule: RuleTargetNotInCatalog, Message: fmt.Sprintf("%s is not in the version source (%s); it is planned as given", target, src.Note)})
			// Plan with the target added; the plan still reports the source as it is.
			src.Versions = withVersion(src.Versions, target)
		}
	}
	if topology && target == base && len(landed) > 0 {
		p.finding(Finding{Rule: RuleUpgradeInFlight, Objects: []ObjectRef{*clusterRef(c)},
			Message: fmt.Sprintf("an upgrade to %s is already under way (%s); the steps below are what remains", base, strings.Join(landed, "; "))})
	}
	if cp.upgrading() || cp.provisioning() {
		p.finding(Finding{Rule: RuleControlPlaneRollingOut, Objects: []ObjectRef{cp.ref},
			Message: fmt.Sprintf("%s is still rolling out to %s (status reports %s); the first step starts when it is done", cp.ref, cp.version, listOrNone(cp.observed))})
	}
	p.workerFindings(ws, target)
	return p.simulate(cp, ws, src, writes, topology)
}

func (p *clusterPlanner) needsInput(rule RuleID, msg string) ClusterPlan {
	p.out.Rejections = append(p.out.Rejections, Rejection{Rule: rule, Message: msg})
	p.out.Status = StatusNeedsInput
	return p.out
}

// workerFindings reports workers the plan cannot move.
func (p *clusterPlanner) workerFindings(ws workerSet, target string) {
	for _, ref := range ws.unmanaged {
		p.finding(Finding{Rule: RuleNotManagedByTopology, Objects: []ObjectRef{ref},
			Message: fmt.Sprintf("%s belongs to the Cluster but not to its topology (no %s label): the topology controller never upgrades it; upgrade it yourself to stay within the skew policy", ref, clusterv1.ClusterTopologyOwnedLabel)})
	}
	for _, m := range ws.missing {
		if slices.Contains(p.opts.Unread, m.kind) {
			continue
		}
		p.finding(Finding{Rule: RuleWorkerPendingCreate,
			Message: fmt.Sprintf("topology worker %q has no %s yet: CAPI creates it at spec.topology.version (%s) once the control plane is stable", m.name, m.kind, target)})
	}
	for _, kind := range p.opts.Unread {
		p.finding(Finding{Rule: RuleKindNotRead,
			Message: fmt.Sprintf("%s objects could not be read (see the warnings on stderr): the plan leaves them out", kind)})
	}
}

func (p *clusterPlanner) simulate(cp controlPlane, ws workerSet, src VersionSource, writes []string, topology bool) ClusterPlan {
	c := p.cluster
	target := writes[len(writes)-1]
	sim := &simulation{
		writes:       writes,
		controlPlane: cp.version,
		cpRef:        cp.ref,
		mds:          ws.mds,
		mps:          ws.mps,
		ctx:          p.ctx,
		planFn:       p.planFunction(src),
		topology:     topology,
		concurrency:  1,
		hooks:        hookRegistry{},
	}
	if len(writes) > 1 {
		sim.topologyWrite = &Patch{Object: *clusterRef(c), Field: "spec.topology.version", From: c.Spec.Topology.Version}
	}
	// In-place extensions serve every Cluster; lifecycle hooks only topology Clusters.
	reg, fs := registeredHooks(p.st, c)
	p.out.Findings = append(p.out.Findings, fs...)
	if topology {
		conc, f := upgradeConcurrency(c)
		sim.concurrency = conc
		if f != nil {
			p.finding(*f)
		}
		sim.hooks = reg
		pending := strings.Split(c.Annotations[runtimev1.PendingHooksAnnotation], ",")
		sim.afterClusterUpgradePending = slices.Contains(pending, hookAfterClusterUpgrade)
		// The annotations act only through the BeforeClusterUpgrade call, which needs RuntimeSDK.
		if !p.gates.coreKnown || p.gates.coreSDK {
			sim.startBlockers = beforeUpgradeAnnotationBlockers(c)
		}
	}
	res, err := sim.run()
	p.out.UpgradePlan = UpgradePaths{ControlPlane: orEmpty(res.paths.ControlPlane), Workers: orEmpty(res.paths.Workers)}
	p.out.Current.MinWorkers = res.initial.minWorkers
	if err != nil {
		var nwp errNoWorkersPlan
		rule := RuleInvalidUpgradePlan
		if errors.As(err, &nwp) {
			rule = RuleNoWorkersPlan
		}
		from := ""
		if src.Type == SourceExtension && p.opts.RuntimeClient != nil {
			from = fmt.Sprintf(" with the GenerateUpgradePlan extension %q", src.Name)
		}
		var callErr extensionCallError
		if errors.As(err, &callErr) {
			rule = RuleExtensionFailed
		}
		msg := fmt.Sprintf("Cluster %s/%s: CAPI cannot compute the upgrade plan from %s to %s%s: %v", c.Namespace, c.Name, cp.version, target, from, err)
		if rule == RuleInvalidUpgradePlan {
			switch src.Type {
			case SourceClusterClass:
				msg += "; check that ClusterClass spec.kubernetesVersions lists every minor in between"
			case SourceCatalog, SourceUserVersions:
				msg += "; the version source needs a version of every minor in between: list them with --versions"
			}
		}
		return p.reject(Rejection{Rule: rule, Message: msg})
	}
	p.out.Steps = res.steps
	if len(res.steps) > 0 {
		var cc *clusterv1.ClusterClass
		if topology {
			cc = p.st.ClusterClass(c)
		}
		pr := newPredictor(p, cc, reg)
		p.out.Machines, p.out.Duration = pr.predict(p.out.Steps)
		p.out.Findings = append(p.out.Findings, pr.pendingRollouts(p.out.Steps)...)
		p.out.Findings = append(p.out.Findings, pr.topologyVersionPatches(p.out.Steps)...)
		p.out.Findings = append(p.out.Findings, pr.classDrift(p.out.Steps)...)
		p.out.Findings = append(p.out.Findings, acceleratorFindings(p.st, ws, p.out.Steps)...)
		p.out.Findings = append(p.out.Findings, supportFindings(p.st, cp.version, p.out.Steps)...)
		p.out.Findings = append(p.out.Findings, atRestFindings(p.st, c, cp.ref, ws, p.out.Steps, p.opts.Now, p.gates)...)
		p.out.Findings = append(p.out.Findings, healthCheckFindings(p.st, c, cp.ref, ws, p.out.Steps)...)
	}
	p.out.Findings = append(p.out.Findings, endOfLifeFindings(p.opts.Catalog, p.opts.Now, []string{cp.version, p.out.Current.MinWorkers}, p.out.Steps)...)
	p.out.Findings = append(p.out.Findings, skewFindings(ws, res, topology, p.gates)...)
	if topology {
		p.out.Findings = append(p.out.Findings, pitfallFindings(src, res, p.coreVersion, p.gates)...)
	}
	switch {
	case len(res.steps) == 0:
		p.out.Status = StatusUpToDate
	case hasBlockers(res.steps):
		p.out.Status = StatusBlocked
	default:
		p.out.Status = StatusPlanned
	}
	return p.out
}

func beforeUpgradeAnnotationBlockers(c *clusterv1.Cluster) []Blocker {
	var keys []string
	for k := range c.Annotations {
		if strings.HasPrefix(k, clusterv1.BeforeClusterUpgradeHookAnnotationPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Blocker
	for _, k := range keys {
		out = append(out, Blocker{Rule: RuleBeforeUpgradeHookAnn, Objects: []ObjectRef{*clusterRef(c)},
			Message: fmt.Sprintf("annotation %s on the Cluster blocks the upgrade from starting until it is removed (it acts as a BeforeClusterUpgrade hook when RuntimeSDK is enabled)", k)})
	}
	return out
}

func hasBlockers(steps []Step) bool {
	for _, s := range steps {
		if len(s.Blockers) > 0 {
			return true
		}
	}
	return false
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

var severityOrder = map[Severity]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return severityOrder[fs[i].Severity] < severityOrder[fs[j].Severity] })
}

func management(st *state.State) *Management {
	m := &Management{}
	for _, c := range st.ControllerInfo() {
		m.Controllers = append(m.Controllers, Controller{Object: ObjectRef{Kind: "Deployment", Namespace: c.Namespace, Name: c.Name},
			Provider: c.Provider, Image: c.Image, Version: c.Version, FeatureGates: c.FeatureGates, FeatureGatesUnparsed: c.FeatureGatesArg})
	}
	for _, p := range st.ProviderInfos() {
		m.Providers = append(m.Providers, Provider{Object: ObjectRef{Kind: "Provider", Namespace: p.Namespace, Name: p.Name},
			Type: p.Type, ProviderName: p.ProviderName, Version: p.Version})
	}
	if len(m.Controllers) == 0 && len(m.Providers) == 0 {
		return nil
	}
	return m
}
