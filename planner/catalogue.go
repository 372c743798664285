package planner

import "slices"

// RuleID names a rule: a reason CAPI would refuse an upgrade (a rejection), a
// finding, a blocker of a step, or what decided a prediction. Every RuleID the
// planner emits is one of the constants below, and each has an entry in the
// catalogue (Rules); docs/findings.md is generated from it.
type RuleID string

// RuleKind says where a rule appears in the plan.
type RuleKind string

// RuleKind values.
const (
	// KindRejection: clusters[].rejections; the Cluster is Rejected or NeedsInput.
	KindRejection RuleKind = "Rejection"
	// KindFinding: clusters[].findings.
	KindFinding RuleKind = "Finding"
	// KindBlocker: steps[].blockers; the step stalls until someone acts.
	KindBlocker RuleKind = "Blocker"
	// KindPrediction: steps[].changes[].prediction.rule, what decided in place or rollout.
	KindPrediction RuleKind = "Prediction"
)

// Rule describes one rule of the catalogue.
type Rule struct {
	ID    RuleID
	Kinds []RuleKind
	// Severity of the rule; every finding of the rule carries it.
	Severity Severity
	// Summary is one line: what the rule says.
	Summary string
	// Source is the CAPI code or document the rule comes from.
	Source string
	// Action is what to do about it.
	Action string
	// Condition is what the rule's truth depends on beyond the Cluster's own
	// objects (controllers, their versions, feature gates); "" when nothing.
	// A finding whose condition could not be checked against the objects read
	// carries it in Finding.Condition.
	Condition string
}

// Rejections.
const (
	RuleDowngrade              RuleID = "Downgrade"
	RuleNotInVersionList       RuleID = "NotInClusterClassVersions"
	RuleMoreThanOneMinor       RuleID = "MoreThanOneMinor"
	RuleUpgradeInProgress      RuleID = "PreviousUpgradeNotLanded"
	RuleAfterClusterUpgrade    RuleID = "AfterClusterUpgradePending"
	RulePaused                 RuleID = "ClusterPaused"
	RuleDeleting               RuleID = "ClusterDeleting"
	RuleNoControlPlane         RuleID = "NoControlPlane"
	RuleUnknownTarget          RuleID = "UnknownTarget"
	RuleInvalidUpgradePlan     RuleID = "InvalidUpgradePlan"
	RuleNoWorkersPlan          RuleID = "NoWorkersPlan"
	RuleMissingObject          RuleID = "MissingObject"
	RuleExtensionNeedsLiveMode RuleID = "ExtensionNotCallableOffline"
	RuleExtensionFailed        RuleID = "UpgradePlanExtensionFailed"
	RuleClassNotReconciled     RuleID = "ClusterClassNotReconciled"
	RuleVariablesInvalid       RuleID = "ClusterVariablesInvalid"
)

// Prediction rules.
const (
	RuleGatesUnknown        RuleID = "FeatureGatesUnknown"
	RuleGatesOff            RuleID = "InPlaceUpdatesDisabled"
	RuleNoExtension         RuleID = "NoInPlaceExtension"
	RuleManyExtensions      RuleID = "MultipleInPlaceExtensions"
	RuleNotCovered          RuleID = "ChangeNotCovered"
	RulePatchesNotEvaluated RuleID = "PatchesNotEvaluated"
	RuleSingleReplica       RuleID = "SingleReplica"
	RuleOnDelete            RuleID = "OnDeleteStrategy"
	RuleRolloutAfter        RuleID = "RolloutAfterExpired"
	RuleMachinePool         RuleID = "MachinePoolProviderManaged"
	RuleNotKubeadm          RuleID = "ControlPlaneNotKubeadm"
	RuleInPlace             RuleID = "InPlaceUpdate"
)

// Blockers.
const (
	RuleUpgradeDeferred      RuleID = "UpgradeDeferred"
	RuleBeforeUpgradeHookAnn RuleID = "BeforeUpgradeHookAnnotation"
)

// Findings.
const (
	RuleVersionSkewPolicy             RuleID = "VersionSkewPolicy"
	RuleWorkersCannotScale            RuleID = "WorkersCannotScale"
	RuleCAPIv112RuntimeSDKOff         RuleID = "CAPIv112RuntimeSDKOff"
	RuleCAPIv112PatchOnly             RuleID = "CAPIv112PatchOnly"
	RuleTargetNotInCatalog            RuleID = "TargetNotInCatalog"
	RuleUpgradeInFlight               RuleID = "UpgradeInFlight"
	RuleOneMinorPerWrite              RuleID = "OneMinorPerWrite"
	RuleControlPlaneRollingOut        RuleID = "ControlPlaneRollingOut"
	RuleNotManagedByTopology          RuleID = "NotManagedByTopology"
	RuleWorkerPendingCreate           RuleID = "WorkerPendingCreate"
	RuleKindNotRead                   RuleID = "KindNotRead"
	RuleExtensionNotUsable            RuleID = "ExtensionNotUsable"
	RuleNamespaceUnknown              RuleID = "NamespaceUnknown"
	RulePausedMachineDeployment       RuleID = "PausedMachineDeployment"
	RulePendingRollout                RuleID = "PendingRollout"
	RuleTopologyVersionBuiltin        RuleID = "TopologyVersionBuiltinInChain"
	RulePendingClusterClassChange     RuleID = "PendingClusterClassChange"
	RuleInvalidUpgradeConcurrency     RuleID = "InvalidUpgradeConcurrency"
	RuleAcceleratorMachinesReplaced   RuleID = "AcceleratorMachinesReplaced"
	RuleAcceleratorMachines           RuleID = "AcceleratorMachines"
	RuleAcceleratorsUnknown           RuleID = "AcceleratorsUnknown"
	RuleMachinesNotAtRest             RuleID = "MachinesNotAtRest"
	RuleMachineHealthCheckRemediating RuleID = "MachineHealthCheckRemediating"
	RuleMachineDeploymentRollingOut   RuleID = "MachineDeploymentRollingOut"
	RuleObjectPaused                  RuleID = "ObjectPaused"
	RulePreflightChecksSkipped        RuleID = "PreflightChecksSkipped"
	RuleKubernetesVersionUnsupported  RuleID = "KubernetesVersionUnsupported"
	RuleEndOfLife                     RuleID = "EndOfLife"
	RuleEndOfLifeUnknown              RuleID = "EndOfLifeUnknown"
	RuleNodesProxyExposure            RuleID = "NodesProxyExposure"
	RuleManagementVersionUnsupported  RuleID = "ManagementClusterVersionUnsupported"
)

const (
	webhookCluster  = "core/webhooks/admission/cluster.go (Cluster webhook)"
	upgradePlanCode = "exp/topology/desiredstate/upgrade_plan.go (DefaultAndValidateUpgradePlans)"
	inPlaceDoc      = "docs/proposals/20240807-in-place-updates.md; feature/feature.go"
	gatesCondition  = "the InPlaceUpdates and RuntimeSDK gates of the core and KubeadmControlPlane controllers"
)

// rules is the catalogue, in the order docs/findings.md lists it.
var rules = []Rule{
	// Rejections.
	{ID: RuleDowngrade, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the target is older than the current version",
		Source:  webhookCluster + " validateTopologyVersionUpdate; for unmanaged Clusters, Kubernetes' control plane downgrade policy",
		Action:  "choose a target at or above the current version"},
	{ID: RuleNotInVersionList, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the target is not in ClusterClass spec.kubernetesVersions",
		Source:  webhookCluster + " ValidateClusterForClusterClass",
		Action:  "pick a listed version, or add the target to the ClusterClass"},
	{ID: RuleMoreThanOneMinor, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "without a version list or an upgrade-plan extension, the target is more than one minor ahead",
		Source:  webhookCluster + " validateTopologyVersionUpdate",
		Action:  "pass --versions with a release of every minor in between (capi-planner then writes one minor at a time), or list the versions in ClusterClass spec.kubernetesVersions to chain the upgrade"},
	{ID: RuleUpgradeInProgress, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the previous upgrade has not landed on the control plane and every worker",
		Source:  webhookCluster + " validateTopologyVersionUpdate (control plane and Machines at spec.topology.version)",
		Action:  "wait for the rollout to finish, or plan --to the current version to see the remaining steps"},
	{ID: RuleAfterClusterUpgrade, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the previous upgrade's AfterClusterUpgrade hook is still pending",
		Source:  webhookCluster + " (runtime.cluster.x-k8s.io/pending-hooks annotation)",
		Action:  "make the extension handling AfterClusterUpgrade answer without asking to retry, then plan again"},
	{ID: RuleVariablesInvalid, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the Cluster's variables do not pass its ClusterClass as it is now (for example a variable it now requires), so CAPI refuses every change of the Cluster",
		Source:  webhookCluster + " Default (DefaultAndValidateVariables, run here as CAPI's own code)",
		Action:  "set the Cluster's variables as the ClusterClass defines them in status.variables, then plan again"},
	{ID: RuleClassNotReconciled, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the ClusterClass is not reconciled (no VariablesReady=True, or status.observedGeneration behind metadata.generation), so the topology controller does not reconcile the Cluster",
		Source:  "core/reconcilers/topology/cluster/cluster_controller.go:343-352",
		Action:  "fix the ClusterClass as its status says, or check that the core controller runs, then plan again"},
	{ID: RulePaused, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the Cluster is paused (spec.paused or the cluster.x-k8s.io/paused annotation)",
		Source:  "util/annotations HasPaused; every CAPI controller skips paused Clusters",
		Action:  "unpause the Cluster before upgrading"},
	{ID: RuleDeleting, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the Cluster is being deleted",
		Source:  "metadata.deletionTimestamp; CAPI's controllers only run deletion",
		Action:  "nothing to upgrade"},
	{ID: RuleNoControlPlane, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the Cluster has no spec.controlPlaneRef",
		Source:  "api/core/v1beta2 Cluster spec.controlPlaneRef",
		Action:  "capi-planner plans Clusters with a CAPI control plane; upgrade this one by other means"},
	{ID: RuleUnknownTarget, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "--to names a version or minor the version source does not offer",
		Source:  "the Cluster's version source (ClusterClass list, upgrade-plan extension, release catalog)",
		Action:  "choose one of availableTargets"},
	{ID: RuleInvalidUpgradePlan, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "CAPI refuses the computed upgrade plan, for example a version list that skips a minor",
		Source:  upgradePlanCode,
		Action:  "list a version of every minor in between (ClusterClass spec.kubernetesVersions, the extension, or --versions)"},
	{ID: RuleNoWorkersPlan, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "CAPI returns no workers plan and no error when a needed minor is unknown; the controller would then fail",
		Source:  upgradePlanCode,
		Action:  "list a version of every minor in between"},
	{ID: RuleMissingObject, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "an object the plan needs (control plane, ClusterClass) is missing from the input or invalid",
		Source:  "capi-planner input",
		Action:  "add the object to the snapshot, or fix the reference if the management cluster does not hold it either"},
	{ID: RuleExtensionNeedsLiveMode, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary: "the ClusterClass's versions come from a GenerateUpgradePlan extension, which cannot be called offline",
		Source:  "ClusterClass spec.upgrade.external.generateUpgradePlanExtension; " + upgradePlanCode,
		Action:  "plan live, or pass --versions to stand in for the extension"},
	{ID: RuleExtensionFailed, Kinds: []RuleKind{KindRejection}, Severity: SeverityError,
		Summary:   "live, the GenerateUpgradePlan extension could not be called or answered Failure",
		Source:    upgradePlanCode,
		Action:    "check the extension named in the message and its ExtensionConfig",
		Condition: "the RuntimeSDK gate of the core controller (the call needs it)"},

	// Blockers.
	{ID: RuleUpgradeDeferred, Kinds: []RuleKind{KindBlocker}, Severity: SeverityWarning,
		Summary: "a defer-upgrade or hold-upgrade-sequence annotation on a topology worker defers it",
		Source:  "exp/topology/desiredstate/desired_state.go (topology.cluster.x-k8s.io/defer-upgrade, hold-upgrade-sequence)",
		Action:  "remove the annotation when the worker may move; the later steps assume it is removed"},
	{ID: RuleBeforeUpgradeHookAnn, Kinds: []RuleKind{KindBlocker}, Severity: SeverityWarning,
		Summary:   "a before-upgrade.hook.cluster.cluster.x-k8s.io annotation on the Cluster blocks the start",
		Source:    "exp/topology/desiredstate/lifecycle_hooks.go",
		Action:    "remove the annotation when the upgrade may start",
		Condition: "the RuntimeSDK gate of the core controller (the annotation acts only with it on; not reported when the gate is read off)"},

	// Predictions.
	{ID: RuleInPlace, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary:   "Machines are updated in place by the in-place extension",
		Source:    inPlaceDoc,
		Action:    "nothing; check the extension covers every difference listed",
		Condition: gatesCondition},
	{ID: RuleGatesUnknown, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary: "the controllers' feature gates were not read, so in place or rollout is unknown",
		Source:  inPlaceDoc,
		Action:  "include the controllers' Deployments in the snapshot, or pass --feature-gates"},
	{ID: RuleGatesOff, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary:   "in-place updates are off (InPlaceUpdates/RuntimeSDK gates), so Machines are replaced",
		Source:    inPlaceDoc,
		Action:    "enable InPlaceUpdates and RuntimeSDK on core and InPlaceUpdates on KubeadmControlPlane to update in place",
		Condition: gatesCondition},
	{ID: RuleNoExtension, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary: "no usable ExtensionConfig registers the in-place hooks, so Machines are replaced",
		Source:  "internal/runtime/client/client.go (handler selection); " + inPlaceDoc,
		Action:  "register an in-place extension to update in place"},
	{ID: RuleManyExtensions, Kinds: []RuleKind{KindPrediction, KindBlocker}, Severity: SeverityWarning,
		Summary: "more than one extension registers an in-place hook; CAPI errors on every reconcile",
		Source:  "core/reconcilers/machinedeployment/machinedeployment_canupdatemachineset.go, controlplane/kubeadm/reconcilers/kubeadmcontrolplane/inplace_canupdatemachine.go, core/reconcilers/machine/machine_controller_inplace_update.go (\"only one hook is supported\")",
		Action:  "keep exactly one in-place extension"},
	{ID: RuleNotCovered, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary: "the step changes something the in-place extension does not (or is not assumed to) cover, so Machines are replaced",
		Source:  "CanUpdateMachine / CanUpdateMachineSet hooks; " + inPlaceDoc,
		Action:  "extend the extension, or --assume-extension-covers the fields it does cover"},
	{ID: RulePatchesNotEvaluated, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary: "ClusterClass patches could not be evaluated (external patches offline, templates not read)",
		Source:  "exp/topology/desiredstate patch engine",
		Action:  "plan live, include the templates, or --assume-extension-covers=templates"},
	{ID: RuleSingleReplica, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary: "one replica leaves no room for in-place: the Machine is replaced",
		Source:  "controlplane/kubeadm scale and rollout; core/reconcilers/machinedeployment rolling update",
		Action:  "run more replicas, or accept the replacement"},
	{ID: RuleOnDelete, Kinds: []RuleKind{KindPrediction, KindBlocker}, Severity: SeverityWarning,
		Summary: "an OnDelete rollout strategy waits until someone deletes the old Machines",
		Source:  "core/reconcilers/machinedeployment/machinedeployment_rollout_ondelete.go",
		Action:  "delete the old Machines when ready, or switch to RollingUpdate"},
	{ID: RuleRolloutAfter, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary: "spec.rollout.after has passed: every older Machine is replaced, never in place",
		Source:  "controlplane/kubeadm and core/reconcilers/machinedeployment rollout.after handling",
		Action:  "clear or move rollout.after to update in place"},
	{ID: RuleMachinePool, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary: "MachinePools have no in-place path: the infrastructure provider replaces their nodes",
		Source:  "exp MachinePool contract",
		Action:  "nothing; expect the provider's replacement"},
	{ID: RuleNotKubeadm, Kinds: []RuleKind{KindPrediction}, Severity: SeverityInfo,
		Summary: "the control plane is not a KubeadmControlPlane (or could not be read): its behaviour is unknown",
		Source:  "the control plane provider's contract",
		Action:  "check the provider's documentation"},

	// Findings.
	{ID: RuleVersionSkewPolicy, Kinds: []RuleKind{KindFinding}, Severity: SeverityError,
		Summary: "a worker lags the control plane by more than Kubernetes allows, or is newer than it",
		Source:  "Kubernetes version skew policy (kubernetes.io/releases/version-skew-policy)",
		Action:  "upgrade the lagging workers first, or choose a closer target"},
	{ID: RuleWorkersCannotScale, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary:   "while a kubeadm MachineDeployment lags the control plane, MachineSet preflight checks stop it creating Machines",
		Source:    "core/reconcilers/machineset/machineset_preflight.go (KubeadmVersionSkew, ControlPlaneVersionSkew)",
		Action:    "expect no scale-up or remediation during those steps, or set machineset.cluster.x-k8s.io/skip-preflight-checks",
		Condition: "the MachineSetPreflightChecks gate of the core controller (beta, on by default)"},
	{ID: RuleCAPIv112RuntimeSDKOff, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary:   "on CAPI v1.12.x with RuntimeSDK off, a multi-step upgrade stalls at the first intermediate control plane step",
		Source:    "exp/topology/desiredstate (upgrade-step annotation set only with RuntimeSDK in v1.12; fixed in v1.13.0)",
		Action:    "upgrade CAPI or enable RuntimeSDK first",
		Condition: "the core controller's version (v1.12.x) and its RuntimeSDK gate (off)"},
	{ID: RuleCAPIv112PatchOnly, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary:   "on CAPI v1.12.0-v1.12.3, a patch-only upgrade with a ClusterClass version list fails",
		Source:    "exp/topology/desiredstate GetUpgradePlanFromClusterClassVersions (fixed in v1.12.4 and v1.13.0)",
		Action:    "upgrade CAPI to v1.12.4 or newer first",
		Condition: "the core controller's version (v1.12.0-v1.12.3)"},
	{ID: RuleTargetNotInCatalog, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary: "an exact target the release catalog does not list is planned as given",
		Source:  "capi-planner's release catalog",
		Action:  "check the version exists"},
	{ID: RuleUpgradeInFlight, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary: "an upgrade is already under way; the steps are what remains",
		Source:  webhookCluster + " (what landed); exp/topology/desiredstate",
		Action:  "nothing; let it finish"},
	{ID: RuleOneMinorPerWrite, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary: "without a version list or an upgrade-plan extension, a target more than one minor ahead takes one spec.topology.version write per minor, each once the previous upgrade has landed",
		Source:  webhookCluster + " validateTopologyVersionUpdate",
		Action:  "let capi-planner apply make the writes, or make each yourself when the previous upgrade is done; list the versions in ClusterClass spec.kubernetesVersions to let CAPI chain them in one write"},
	{ID: RuleControlPlaneRollingOut, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary: "the control plane is still rolling out or provisioning; the first step starts when it is done",
		Source:  "exp/topology/desiredstate computeControlPlaneVersion (IsUpgrading, IsProvisioning)",
		Action:  "nothing; let it finish"},
	{ID: RuleNotManagedByTopology, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "a worker of a topology Cluster without the topology.cluster.x-k8s.io/owned label: nothing upgrades it",
		Source:  "core/reconcilers/topology/machinedeployment and machineset controllers (skip objects without the owned label)",
		Action:  "upgrade it yourself, within the skew policy"},
	{ID: RuleWorkerPendingCreate, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary: "a topology worker entry has no object yet; CAPI creates it at the target once the control plane is stable",
		Source:  "exp/topology/desiredstate (create pending)",
		Action:  "nothing"},
	{ID: RuleKindNotRead, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "live, a kind could not be listed (for example forbidden): the plan leaves those objects out",
		Source:  "capi-planner's read-only role (docs/rbac.md)",
		Action:  "grant list on the kind (config/rbac) and plan again"},
	{ID: RuleExtensionNotUsable, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "an ExtensionConfig registers handlers CAPI would not call (paused, not discovered, invalid selector)",
		Source:  "internal/runtime/client/client.go (registry)",
		Action:  "fix the ExtensionConfig's discovery, pause or namespaceSelector"},
	{ID: RuleNamespaceUnknown, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary: "an ExtensionConfig's namespaceSelector could not be checked: the Namespace was not read; assumed to match",
		Source:  "internal/runtime/client/client.go (namespaceSelector)",
		Action:  "include the Namespace object in the snapshot"},
	{ID: RulePausedMachineDeployment, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "a paused MachineDeployment does not roll out until unpaused; every change meanwhile lands at once",
		Source:  "core/reconcilers/machinedeployment (spec.paused)",
		Action:  "unpause it before the upgrade"},
	{ID: RulePendingRollout, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "a MachineDeployment already differs from its MachineSets: that rollout lands with its version step",
		Source:  "core/reconcilers/machinedeployment/mdutil FindNewAndOldMachineSets",
		Action:  "let the pending rollout finish first, or make sure the in-place extension covers it"},
	{ID: RuleTopologyVersionBuiltin, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "ClusterClass patches use builtin.cluster.topology.version in a chained upgrade: first steps get templates for the final target",
		Source:  "exp/topology/desiredstate builtin variables",
		Action:  "key such patches on builtin.controlPlane.version or builtin.machineDeployment.version"},
	{ID: RulePendingClusterClassChange, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "the control plane or a MachineDeployment does not carry what its ClusterClass sets: that change lands with its first step",
		Source:  "exp/topology/desiredstate (desired state from the ClusterClass and its patches)",
		Action:  "let the topology controller apply the change first, or make sure the in-place extension covers it"},
	{ID: RuleInvalidUpgradeConcurrency, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "the upgrade-concurrency annotation is not an integer >= 1; CAPI uses 1",
		Source:  "exp/topology/scope/scope.go (topology.cluster.x-k8s.io/upgrade-concurrency)",
		Action:  "fix the annotation"},
	{ID: RuleAcceleratorMachinesReplaced, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "a step replaces Machines with accelerators (GPUs), the most expensive to lose: their jobs restart and the capacity may not come back",
		Source:  "the step's prediction (see Predictions); accelerators told from accelerator taints and labels in the Machine and bootstrap templates (nvidia.com/gpu, amd.com/gpu, ...) or the instance type of AWS, Azure and GCP machine templates",
		Action:  "what the prediction's rule says keeps Machines in place (in the message); gate CI on it with --fail-on=replace-gpu"},
	{ID: RuleAcceleratorMachines, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary: "in total, the accelerator Machines the upgrade replaces and updates in place",
		Source:  "the steps' predictions",
		Action:  "nothing; see AcceleratorMachinesReplaced for each step that replaces them"},
	{ID: RuleAcceleratorsUnknown, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary: "a worker whose Machines are replaced may carry accelerators: its templates do not tell (an unknown is not \"no GPU\")",
		Source:  "the worker's Machine, bootstrap and infrastructure templates",
		Action:  "include the templates, or label the Machine template (for example nvidia.com/gpu.present) when it has accelerators"},
	{ID: RuleMachinesNotAtRest, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "Machines of the control plane or a MachineDeployment are being deleted, being remediated, unhealthy or not ready before the upgrade",
		Source:  "Machine status conditions Ready, HealthCheckSucceeded and OwnerRemediated (api/core/v1beta2 machine_types.go); KubeadmControlPlane and MachineDeployment rollouts wait for or replace such Machines",
		Action:  "bring the Machines back to health (or let remediation finish) before upgrading"},
	{ID: RuleMachineHealthCheckRemediating, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "a MachineHealthCheck of the Cluster counts unhealthy Machines: it is remediating them (their owners replace them), or has stopped remediating because too many are unhealthy",
		Source:  "MachineHealthCheck status expectedMachines, currentHealthy and the RemediationAllowed condition (api/core/v1beta2 machinehealthcheck_types.go; core/reconcilers/machinehealthcheck)",
		Action:  "let the remediation finish (or fix what makes the Machines unhealthy) before upgrading: a rollout on top of it replaces Machines twice, and a short-circuited MachineHealthCheck does not remediate the upgrade's new Machines either"},
	{ID: RuleMachineDeploymentRollingOut, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "a MachineDeployment is still rolling out (old MachineSets hold Machines) when its version step would start another rollout",
		Source:  "core/reconcilers/machinedeployment/mdutil FindNewAndOldMachineSets",
		Action:  "let the rollout finish before upgrading"},
	{ID: RuleObjectPaused, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "the control plane, a MachineDeployment, MachineSet or Machine carries the cluster.x-k8s.io/paused annotation: its steps stall",
		Source:  "util/annotations HasPaused; CAPI's controllers skip paused objects",
		Action:  "remove the annotation before upgrading"},
	{ID: RulePreflightChecksSkipped, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary:   "a MachineDeployment or MachineSet skips MachineSet preflight checks: while it lags the control plane it creates Machines the checks would stop",
		Source:    "core/reconcilers/machineset/machineset_preflight.go (machineset.cluster.x-k8s.io/skip-preflight-checks)",
		Action:    "remove the annotation for the upgrade unless you accept Machines at a skewed version",
		Condition: "the MachineSetPreflightChecks gate of the core controller (beta, on by default)"},
	{ID: RuleKubernetesVersionUnsupported, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary:   "the installed core, kubeadm bootstrap or kubeadm control plane provider does not support a Kubernetes version the Cluster runs during the upgrade (minimum patch releases included)",
		Source:    "docs/book/src/reference/versions.md, the support matrix (generated into internal/supportmatrix from the CAPI module)",
		Action:    "upgrade the provider to a release that supports the version before that step",
		Condition: "the providers' versions, read from their controllers' image tags; not checked when the controllers were not read"},
	{ID: RuleManagementVersionUnsupported, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary:   "the management cluster's own Kubernetes version is one the installed core provider supports only for workload clusters (\"only workload\" in the matrix), or does not support at all; reported in every Cluster's plan",
		Source:    "docs/book/src/reference/versions.md, the support matrix (generated into internal/supportmatrix from the CAPI module)",
		Action:    "upgrade the management cluster's Kubernetes to a minor the installed CAPI supports for the management cluster (the message lists them), or upgrade CAPI to a release that supports its version for the management cluster",
		Condition: "the management cluster's Kubernetes version (live: the API server's /version; snapshots: the ManagementCluster record `capi-planner snapshot` writes) and the core provider's version (its controller's image tag, else clusterctl's CoreProvider); not checked when either is unknown, or when the matrix has no column for the CAPI minor"},
	{ID: RuleEndOfLife, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "a minor the Cluster runs now, after a step, or at the target is past its upstream end of life at the plan's time",
		Source:  endOfLifeSource + "; when the catalog lacks v1.X.0, the end of life is at the latest its earliest dated patch + 14 months, and the finding says the exact date is unknown",
		Action:  "upgrade past the minor soon: it gets no more security fixes; do not stay at it between steps"},
	{ID: RuleEndOfLifeUnknown, Kinds: []RuleKind{KindFinding}, Severity: SeverityInfo,
		Summary: "the release catalog does not date a minor's .0 release, and its latest possible end of life has not passed: whether it is past its end of life is unknown",
		Source:  endOfLifeSource,
		Action:  "check the minor's end of life on kubernetes.io/releases, or refresh the catalog (make catalog)"},
	{ID: RuleNodesProxyExposure, Kinds: []RuleKind{KindFinding}, Severity: SeverityWarning,
		Summary: "a ServiceAccount, user or group may call the kubelets' API (nodes/proxy) in the management cluster (a ClusterRoleBinding to a ClusterRole allowing get, create or every verb on nodes/proxy, `*/proxy` or every resource of the core group), so it can run commands in any container through the kubelet's API; not reported: " + nodesProxyExemptions(),
		Source: "Kubernetes security advisory on nodes/proxy: the kubelet authorizes exec, attach and run over WebSocket, which start as GET, as get on nodes/proxy; " +
			"RBAC matching (pkg/apis/rbac/v1/evaluation_helpers.go: \"nodes/*\" is no wildcard) and the authorizer, which consults RoleBindings only for namespaced requests, so Roles and RoleBindings never grant nodes/proxy",
		Action:    "drop nodes/proxy from the subject's ClusterRole, granting only the kubelet subresources it reads (nodes/metrics, nodes/stats, nodes/log; with KubeletFineGrainedAuthz also nodes/pods, nodes/healthz, nodes/configz), or remove the binding; accept a ServiceAccount with --ignore NodesProxyExposure:NAMESPACE/NAME",
		Condition: "the management cluster's ClusterRoles and ClusterRoleBindings; not checked when none was read (live: forbidden, see KindNotRead; snapshots without them)"},
}

// ruleIndex finds a rule's position in the catalogue.
var ruleIndex = func() map[RuleID]int {
	m := make(map[RuleID]int, len(rules))
	for i, r := range rules {
		m[r.ID] = i
	}
	return m
}()

// Rules returns the catalogue of every rule the planner can emit.
func Rules() []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		r.Kinds = slices.Clone(r.Kinds)
		out[i] = r
	}
	return out
}

// LookupRule returns the catalogue entry of a rule.
func LookupRule(id RuleID) (Rule, bool) {
	i, ok := ruleIndex[id]
	if !ok {
		return Rule{}, false
	}
	r := rules[i]
	r.Kinds = slices.Clone(r.Kinds)
	return r, true
}
