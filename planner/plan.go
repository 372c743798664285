package planner

import "time"

// APIVersion and Kind identify the plan document. Field names are stable within
// an apiVersion; docs/plan-format.md and docs/plan.schema.json describe them.
const (
	APIVersion = "capi-planner.io/v1alpha1"
	Kind       = "UpgradePlan"
)

// UpgradePlan is the planner's result for every selected Cluster.
type UpgradePlan struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   Metadata      `json:"metadata"`
	Clusters   []ClusterPlan `json:"clusters"`
}

// Metadata says when and from what a plan was made.
type Metadata struct {
	GeneratedAt    time.Time   `json:"generatedAt"`
	PlannerVersion string      `json:"plannerVersion,omitempty"`
	Request        Request     `json:"request"`
	Catalog        CatalogInfo `json:"catalog"`
	// Management describes the CAPI installation, when its controllers were read.
	Management *Management `json:"management,omitempty"`
}

// Management is what the management cluster says about its CAPI installation.
type Management struct {
	Controllers []Controller `json:"controllers,omitempty"`
	Providers   []Provider   `json:"providers,omitempty"`
}

// Controller is one provider's controller Deployment.
type Controller struct {
	Object   ObjectRef `json:"object"`
	Provider string    `json:"provider"`
	Image    string    `json:"image"`
	// Version is the image tag.
	Version string `json:"version,omitempty"`
	// FeatureGates are the gates its --feature-gates argument sets; others keep their defaults.
	FeatureGates map[string]bool `json:"featureGates,omitempty"`
	// FeatureGatesUnparsed holds a --feature-gates value that could not be parsed.
	FeatureGatesUnparsed string `json:"featureGatesUnparsed,omitempty"`
}

// Provider is one clusterctl Provider object.
type Provider struct {
	Object       ObjectRef `json:"object"`
	Type         string    `json:"type,omitempty"`
	ProviderName string    `json:"providerName,omitempty"`
	Version      string    `json:"version,omitempty"`
}

// Request is what the user asked for.
type Request struct {
	// To is the requested target as typed: an exact version, a minor, "latest" or empty (newest).
	To string `json:"to,omitempty"`
	// Cluster is the selected Cluster as namespace/name; empty for every Cluster.
	Cluster string `json:"cluster,omitempty"`
	// Versions is the user-supplied version list (--versions / --versions-file).
	Versions []string `json:"versions,omitempty"`
}

// CatalogInfo describes the embedded Kubernetes release catalog.
type CatalogInfo struct {
	Generated time.Time `json:"generated"`
	Source    string    `json:"source"`
	Releases  int       `json:"releases"`
}

// Status is the outcome of planning one Cluster.
type Status string

// Status values.
const (
	// StatusPlanned: the steps run to the target without an operator's help.
	StatusPlanned Status = "Planned"
	// StatusBlocked: the steps are planned, but at least one step stalls until
	// an operator acts (see the steps' blockers).
	StatusBlocked Status = "Blocked"
	// StatusUpToDate: the Cluster is already at the target.
	StatusUpToDate Status = "UpToDate"
	// StatusRejected: CAPI (its webhooks or its plan validation) would refuse the upgrade.
	StatusRejected Status = "Rejected"
	// StatusNeedsInput: the plan cannot be computed offline without more input.
	StatusNeedsInput Status = "NeedsInput"
)

// ClusterPlan is the plan for one Cluster.
type ClusterPlan struct {
	Cluster      ObjectRef  `json:"cluster"`
	Mode         Mode       `json:"mode"`
	ClusterClass *ObjectRef `json:"clusterClass,omitempty"`
	ControlPlane *ObjectRef `json:"controlPlane,omitempty"`
	Current      Versions   `json:"current"`
	// Target is the resolved target version; empty when none could be resolved.
	Target string `json:"target,omitempty"`
	// VersionSource is where versions come from; absent when planning stopped before choosing one.
	VersionSource    *VersionSource `json:"versionSource,omitempty"`
	AvailableTargets []string       `json:"availableTargets"`
	Status           Status         `json:"status"`
	// Trigger is the single change that starts a topology upgrade (Cluster
	// spec.topology.version); absent when the writes are one per minor (on the steps).
	Trigger *Patch `json:"trigger,omitempty"`
	// UpgradePlan is CAPI's own upgrade plan for the current state, as the
	// topology controller computes it on its next reconcile (for writes one
	// minor at a time: each write's plan, one after the other).
	UpgradePlan UpgradePaths `json:"upgradePlan"`
	Steps       []Step       `json:"steps"`
	Rejections  []Rejection  `json:"rejections,omitempty"`
	Findings    []Finding    `json:"findings,omitempty"`
	// Machines adds up every step's predictions.
	Machines *MachineCounts `json:"machines,omitempty"`
	// Duration is the whole upgrade's estimated duration; absent without history.
	Duration *Estimate `json:"duration,omitempty"`
}

// Mode says how the Cluster is upgraded.
type Mode string

// Mode values.
const (
	// ModeTopology: a ClusterClass-based Cluster; the topology controller runs the steps.
	ModeTopology Mode = "Topology"
	// ModeUnmanaged: no spec.topology; the steps are patches to the control plane and the workers.
	ModeUnmanaged Mode = "Unmanaged"
)

// ObjectRef names an object.
type ObjectRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String renders the reference as Kind namespace/name.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Versions are the Kubernetes versions of a Cluster before the upgrade.
type Versions struct {
	// Topology is Cluster spec.topology.version (topology Clusters only).
	Topology string `json:"topology,omitempty"`
	// ControlPlane is the control plane's spec.version.
	ControlPlane string `json:"controlPlane,omitempty"`
	// ControlPlaneObserved are the versions the control plane reports in its status.
	ControlPlaneObserved []string `json:"controlPlaneObserved,omitempty"`
	// MinWorkers is the lowest MachineDeployment/MachinePool version, as CAPI computes it.
	MinWorkers string `json:"minWorkers,omitempty"`
	// Workers lists every worker object's version.
	Workers []WorkerVersion `json:"workers,omitempty"`
}

// WorkerVersion is the version of one MachineDeployment or MachinePool.
type WorkerVersion struct {
	Object  ObjectRef `json:"object"`
	Version string    `json:"version"`
}

// VersionSource says where the target and the intermediate versions come from.
type VersionSource struct {
	Type VersionSourceType `json:"type"`
	// Name is the extension name, or the ClusterClass, where that applies.
	Name string `json:"name,omitempty"`
	// Versions are the versions the source offers (empty for an extension).
	Versions []string `json:"versions,omitempty"`
	Note     string   `json:"note,omitempty"`
}

// VersionSourceType enumerates version sources in CAPI's order of precedence.
type VersionSourceType string

// VersionSourceType values.
const (
	// SourceExtension: ClusterClass spec.upgrade.external.generateUpgradePlanExtension.
	SourceExtension VersionSourceType = "GenerateUpgradePlanExtension"
	// SourceClusterClass: ClusterClass spec.kubernetesVersions.
	SourceClusterClass VersionSourceType = "ClusterClassVersions"
	// SourceOneMinor: neither of the above; CAPI takes at most one minor per write.
	SourceOneMinor VersionSourceType = "OneMinor"
	// SourceCatalog: an unmanaged Cluster, versions from the embedded release catalog.
	SourceCatalog VersionSourceType = "Catalog"
	// SourceUserVersions: an unmanaged Cluster, versions from --versions or --versions-file.
	SourceUserVersions VersionSourceType = "UserVersions"
)

// UpgradePaths are the control plane and worker version sequences.
type UpgradePaths struct {
	ControlPlane []string `json:"controlPlane"`
	Workers      []string `json:"workers"`
}

// StepKind says what moves in a step.
type StepKind string

// StepKind values.
const (
	StepControlPlane StepKind = "ControlPlane"
	StepWorkers      StepKind = "Workers"
)

// Step is one step of the upgrade, in the order the controllers (or the tool) run them.
type Step struct {
	Number      int       `json:"number"`
	Kind        StepKind  `json:"kind"`
	Version     string    `json:"version"`
	Changes     []Change  `json:"changes"`
	HooksBefore []Hook    `json:"hooksBefore,omitempty"`
	HooksAfter  []Hook    `json:"hooksAfter,omitempty"`
	Blockers    []Blocker `json:"blockers,omitempty"`
	// Machines adds up the step's predictions (peakExtra: the largest of them).
	Machines *MachineCounts `json:"machines,omitempty"`
	// Duration is the step's estimated duration; absent without history.
	Duration *Estimate `json:"duration,omitempty"`
}

// Change is one object moving to a new version in a step.
type Change struct {
	Object ObjectRef `json:"object"`
	// TopologyName is the name in Cluster spec.topology.workers, for topology workers.
	TopologyName string `json:"topologyName,omitempty"`
	From         string `json:"from"`
	To           string `json:"to"`
	// Wave orders changes within a worker step: wave N+1 starts when a wave-N object
	// finishes (upgrade-concurrency at a time). MachinePools have waves of their own.
	Wave int `json:"wave,omitempty"`
	// Deferred marks a worker that moves only after an operator removes a defer
	// or hold annotation (see the step's blockers).
	Deferred bool `json:"deferred,omitempty"`
	// Patch is the write capi-planner makes to start this change: the object's
	// version (unmanaged Clusters), or the Cluster's spec.topology.version on
	// the first change of each write of a topology Cluster written one minor
	// at a time.
	Patch *Patch `json:"patch,omitempty"`
	// Prediction says whether the Machines are updated in place or replaced.
	Prediction *Prediction `json:"prediction,omitempty"`
}

// Patch is a change to one field of one object.
type Patch struct {
	Object ObjectRef `json:"object"`
	Field  string    `json:"field"`
	From   string    `json:"from"`
	To     string    `json:"to"`
}

// Hook is a lifecycle hook called at a point of the upgrade, with the handlers registered for it.
type Hook struct {
	Name     string   `json:"name"`
	Handlers []string `json:"handlers"`
}

// Blocker is what stalls a step until someone acts.
type Blocker struct {
	Rule    RuleID      `json:"rule"`
	Message string      `json:"message"`
	Objects []ObjectRef `json:"objects,omitempty"`
}

// Rejection is a reason CAPI would refuse the upgrade.
type Rejection struct {
	Rule    RuleID `json:"rule"`
	Message string `json:"message"`
}

// Severity of a finding.
type Severity string

// Severity values.
const (
	SeverityError   Severity = "Error"
	SeverityWarning Severity = "Warning"
	SeverityInfo    Severity = "Info"
)

// Finding is something the operator should know about the plan.
type Finding struct {
	// Severity is the rule's, from the catalogue (Rules).
	Severity Severity    `json:"severity"`
	Rule     RuleID      `json:"rule"`
	Message  string      `json:"message"`
	Objects  []ObjectRef `json:"objects,omitempty"`
	// Steps are the step numbers the finding applies to.
	Steps []int `json:"steps,omitempty"`
	// Condition says what the finding depends on that the input did not show
	// (for example the controllers' version or gates): it holds only if that
	// is so. Absent when the finding was checked against what was read.
	Condition string `json:"condition,omitempty"`
	// Suppressed is set when the operator accepted the finding (--ignore,
	// --ignore-file); it stays in the plan, marked.
	Suppressed *Suppression `json:"suppressed,omitempty"`
}

// Suppression says why a finding is suppressed.
type Suppression struct {
	Reason string `json:"reason"`
	// Source is where the suppression comes from: --ignore or the --ignore-file path.
	Source string `json:"source"`
}

// Verdict says how a change reaches its Machines.
type Verdict string

// Verdict values.
const (
	// VerdictInPlace: every Machine is updated in place.
	VerdictInPlace Verdict = "InPlace"
	// VerdictRollout: every Machine is replaced (created new, old deleted).
	VerdictRollout Verdict = "Rollout"
	// VerdictMixed: some Machines are replaced, the others updated in place.
	VerdictMixed Verdict = "Mixed"
	// VerdictUnknown: the input does not say (see the reasons).
	VerdictUnknown Verdict = "Unknown"
)

// Basis says how sure a verdict is about what the in-place extension covers.
type Basis string

// Basis values.
const (
	// BasisAssumed: the extension is assumed to cover spec.version and what
	// --assume-extension-covers names, nothing else.
	BasisAssumed Basis = "Assumed"
	// BasisRules: no extension was involved; CAPI's rules decide alone.
	BasisRules Basis = "Rules"
	// BasisConfirmed: the extension was asked (--ask-extensions) and answered.
	BasisConfirmed Basis = "Confirmed"
)

// Prediction is what a change does to the Machines of one object.
type Prediction struct {
	Verdict Verdict       `json:"verdict"`
	Basis   Basis         `json:"basis"`
	Rule    RuleID        `json:"rule"`
	Reasons []string      `json:"reasons"`
	Counts  MachineCounts `json:"machines"`
	// Differences are what changes on the Machines at this step, as field paths.
	Differences []string `json:"differences,omitempty"`
	// NotCovered are the differences the in-place extension is not assumed to cover.
	NotCovered []string `json:"notCovered,omitempty"`
	// AskFailed is why asking the extension (--ask-extensions) got no answer; the
	// verdict then rests on the assumption (Basis Assumed) because the call failed.
	AskFailed string `json:"askFailed,omitempty"`
	// Duration is estimated from the Cluster's own history; absent without history.
	Duration *Estimate `json:"duration,omitempty"`
	// parallel is how many Machines the controller works on at once.
	parallel int
}

// MachineCounts count Machines.
type MachineCounts struct {
	Created        int `json:"created"`
	UpdatedInPlace int `json:"updatedInPlace"`
	Deleted        int `json:"deleted"`
	// PeakExtra is the most Machines above the desired replicas at any time.
	PeakExtra int `json:"peakExtra"`
}

func (m *MachineCounts) add(o MachineCounts) {
	m.Created += o.Created
	m.UpdatedInPlace += o.UpdatedInPlace
	m.Deleted += o.Deleted
	m.PeakExtra = max(m.PeakExtra, o.PeakExtra)
}
