// Package fleet builds realistic Cluster API management-cluster objects from the
// CAPI API types: the fixtures under fixtures/ are written with it
// (hack/gen-fixtures), so they are always valid objects of the pinned API.
package fleet

import (
	"fmt"
	"strconv"
	"time"

	"github.com/Masterminds/semver/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
)

// Epoch is the creation time of every generated object, so fixtures are reproducible.
var Epoch = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

const (
	infraGroup     = "infrastructure.cluster.x-k8s.io"
	infraAPI       = infraGroup + "/v1beta2"
	bootstrapGroup = "bootstrap.cluster.x-k8s.io"
	bootstrapAPI   = bootstrapGroup + "/v1beta2"
	cpGroup        = "controlplane.cluster.x-k8s.io"
	cpAPI          = cpGroup + "/v1beta2"
)

// Objects is an ordered set of objects to write as one YAML stream.
type Objects []runtime.Object

// Namespace returns a Namespace with labels.
func Namespace(name string, labels map[string]string) *corev1.Namespace {
	ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}}
	ns.Name = name
	ns.Labels = labels
	return ns
}

// ClassSpec describes a ClusterClass.
type ClassSpec struct {
	Namespace, Name string
	Versions        []string
	Extension       string
	MachinePools    bool
	// Patches adds ClusterClass patches that set the control plane's etcd image
	// tag and a version file from builtin.controlPlane.version (KubeadmConfig).
	Patches bool
	// Variables adds the variable imageRepository and a patch that sets the
	// control plane's kubeadm imageRepository from it.
	Variables bool
}

// ImageRepositoryVariable is the ClusterClass variable of ClassSpec.Variables.
const ImageRepositoryVariable = "imageRepository"

// ClusterClass returns a docker-style ClusterClass and the templates it refers to.
func ClusterClass(s ClassSpec) Objects {
	cc := &clusterv1.ClusterClass{TypeMeta: typeMeta(clusterv1.GroupVersion.String(), "ClusterClass")}
	meta(&cc.ObjectMeta, s.Namespace, s.Name, nil)
	cc.Spec.KubernetesVersions = s.Versions
	cc.Spec.Upgrade.External.GenerateUpgradePlanExtension = s.Extension
	cc.Spec.Infrastructure.TemplateRef = ref(infraAPI, "DockerClusterTemplate", s.Name)
	cc.Spec.ControlPlane.TemplateRef = ref(cpAPI, "KubeadmControlPlaneTemplate", s.Name+"-control-plane")
	cc.Spec.ControlPlane.MachineInfrastructure.TemplateRef = ref(infraAPI, "DockerMachineTemplate", s.Name+"-control-plane")
	cc.Spec.Workers.MachineDeployments = []clusterv1.MachineDeploymentClass{{
		Class:          "default-worker",
		Bootstrap:      clusterv1.MachineDeploymentClassBootstrapTemplate{TemplateRef: ref(bootstrapAPI, "KubeadmConfigTemplate", s.Name+"-default-worker")},
		Infrastructure: clusterv1.MachineDeploymentClassInfrastructureTemplate{TemplateRef: ref(infraAPI, "DockerMachineTemplate", s.Name+"-default-worker")},
	}}
	if s.Patches {
		cc.Spec.Patches = controlPlaneVersionPatches()
	}
	if s.Variables {
		schema := clusterv1.VariableSchema{OpenAPIV3Schema: clusterv1.JSONSchemaProps{Type: "string", MinLength: ptr.To(int64(1))}}
		cc.Spec.Variables = []clusterv1.ClusterClassVariable{{Name: ImageRepositoryVariable, Required: ptr.To(true), Schema: schema}}
		// The ClusterClass controller copies the definitions into its status.
		cc.Status.Variables = []clusterv1.ClusterClassStatusVariable{{Name: ImageRepositoryVariable,
			Definitions: []clusterv1.ClusterClassStatusVariableDefinition{{From: clusterv1.VariableDefinitionFromInline, Required: ptr.To(true), Schema: schema}}}}
		cc.Spec.Patches = append(cc.Spec.Patches, clusterv1.ClusterClassPatch{
			Name: "image-repository",
			Definitions: []clusterv1.PatchDefinition{{
				Selector: clusterv1.PatchSelector{APIVersion: cpAPI, Kind: "KubeadmControlPlaneTemplate", MatchResources: clusterv1.PatchSelectorMatch{ControlPlane: ptr.To(true)}},
				JSONPatches: []clusterv1.JSONPatch{{Op: "add", Path: "/spec/template/spec/kubeadmConfigSpec/clusterConfiguration/imageRepository",
					ValueFrom: &clusterv1.JSONPatchValue{Variable: ImageRepositoryVariable}}},
			}},
		})
	}
	// What the ClusterClass controller writes once it has reconciled the class: without
	// it the topology controller does not reconcile the Cluster.
	cc.Generation = 1
	cc.Status.ObservedGeneration = 1
	cc.Status.Conditions = []metav1.Condition{
		{Type: clusterv1.ClusterClassVariablesReadyCondition, Status: metav1.ConditionTrue, Reason: clusterv1.ClusterClassVariablesReadyReason, ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(Epoch)},
		{Type: clusterv1.ClusterClassRefVersionsUpToDateCondition, Status: metav1.ConditionTrue, Reason: clusterv1.ClusterClassRefVersionsUpToDateReason, ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(Epoch)},
		{Type: clusterv1.PausedCondition, Status: metav1.ConditionFalse, Reason: clusterv1.NotPausedReason, ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(Epoch)},
	}
	out := Objects{cc,
		template(infraAPI, "DockerClusterTemplate", s.Namespace, s.Name, map[string]any{"template": map[string]any{"spec": map[string]any{}}}),
		template(cpAPI, "KubeadmControlPlaneTemplate", s.Namespace, s.Name+"-control-plane", map[string]any{"template": map[string]any{"spec": map[string]any{
			"kubeadmConfigSpec": map[string]any{"clusterConfiguration": map[string]any{"apiServer": map[string]any{"certSANs": []any{"localhost", "127.0.0.1"}}}},
		}}}),
		template(infraAPI, "DockerMachineTemplate", s.Namespace, s.Name+"-control-plane", dockerMachine()),
		template(bootstrapAPI, "KubeadmConfigTemplate", s.Namespace, s.Name+"-default-worker", kubeadmConfig()),
		template(infraAPI, "DockerMachineTemplate", s.Namespace, s.Name+"-default-worker", dockerMachine()),
	}
	if s.MachinePools {
		cc.Spec.Workers.MachinePools = []clusterv1.MachinePoolClass{{
			Class:          "default-pool",
			Bootstrap:      clusterv1.MachinePoolClassBootstrapTemplate{TemplateRef: ref(bootstrapAPI, "KubeadmConfigTemplate", s.Name+"-default-worker")},
			Infrastructure: clusterv1.MachinePoolClassInfrastructureTemplate{TemplateRef: ref(infraAPI, "DockerMachinePoolTemplate", s.Name+"-default-pool")},
		}}
		out = append(out, template(infraAPI, "DockerMachinePoolTemplate", s.Namespace, s.Name+"-default-pool", map[string]any{"template": map[string]any{"spec": map[string]any{}}}))
	}
	return out
}

// EtcdImageTags are the etcd image tags the ClusterClass patches of ClassSpec.Patches
// choose by control plane minor.
var EtcdImageTags = []struct{ MinMinor, Tag string }{
	{"1.36.0-0", "3.6.8-0"}, {"1.35.0-0", "3.6.6-0"}, {"1.34.0-0", "3.6.4-0"}, {"0.0.0-0", "3.5.21-0"},
}

// VersionFile is where the ClusterClass patches of ClassSpec.Patches write the
// control plane version.
const VersionFile = "/etc/kubernetes/capi-version"

// controlPlaneVersionPatches are inline patches, like many real ClusterClasses
// have, that change the KubeadmControlPlane's KubeadmConfig with every control
// plane version: the etcd image tag and a file.
func controlPlaneVersionPatches() []clusterv1.ClusterClassPatch {
	tag := ""
	for i, t := range EtcdImageTags {
		switch {
		case i == 0:
			tag += fmt.Sprintf(`{{ if semverCompare ">=%s" .builtin.controlPlane.version }}%s`, t.MinMinor, t.Tag)
		case i == len(EtcdImageTags)-1:
			tag += fmt.Sprintf(`{{ else }}%s{{ end }}`, t.Tag)
		default:
			tag += fmt.Sprintf(`{{ else if semverCompare ">=%s" .builtin.controlPlane.version }}%s`, t.MinMinor, t.Tag)
		}
	}
	cp := clusterv1.PatchSelector{APIVersion: cpAPI, Kind: "KubeadmControlPlaneTemplate", MatchResources: clusterv1.PatchSelectorMatch{ControlPlane: ptr.To(true)}}
	return []clusterv1.ClusterClassPatch{{
		Name: "etcd-image-and-version-file",
		Definitions: []clusterv1.PatchDefinition{{
			Selector: cp,
			JSONPatches: []clusterv1.JSONPatch{
				{Op: "add", Path: "/spec/template/spec/kubeadmConfigSpec/clusterConfiguration/etcd", ValueFrom: &clusterv1.JSONPatchValue{Template: "local:\n  imageTag: " + tag}},
				{Op: "add", Path: "/spec/template/spec/kubeadmConfigSpec/files", ValueFrom: &clusterv1.JSONPatchValue{Template: "- path: " + VersionFile + "\n  content: {{ .builtin.controlPlane.version }}"}},
			},
		}},
	}}
}

// EtcdImageTag is the tag controlPlaneVersionPatches choose for version.
func EtcdImageTag(version string) string {
	for _, t := range EtcdImageTags {
		if min, err := semver.NewVersion(t.MinMinor); err == nil {
			if v, err := semver.NewVersion(version); err == nil && !v.LessThan(min) {
				return t.Tag
			}
		}
	}
	return EtcdImageTags[len(EtcdImageTags)-1].Tag
}

func kubeadmConfig() map[string]any {
	return map[string]any{"template": map[string]any{"spec": map[string]any{
		"joinConfiguration": map[string]any{"nodeRegistration": map[string]any{"kubeletExtraArgs": []any{map[string]any{"name": "eviction-hard", "value": "nodefs.available<0%"}}}},
	}}}
}

func dockerMachine() map[string]any {
	return map[string]any{"template": map[string]any{"spec": map[string]any{"extraMounts": []any{map[string]any{"containerPath": "/var/run/docker.sock", "hostPath": "/var/run/docker.sock"}}}}}
}

// WorkerSpec describes one MachineDeployment or MachinePool of a Cluster.
type WorkerSpec struct {
	Name     string
	Version  string
	Replicas int32
	// Annotations go on the topology entry (defer-upgrade, hold-upgrade-sequence).
	Annotations map[string]string
	Pool        bool
}

// ClusterSpec describes a Cluster with its control plane and workers.
type ClusterSpec struct {
	Namespace, Name string
	// Class is the ClusterClass name; empty for a Cluster without a topology.
	Class string
	// TopologyVersion is spec.topology.version (defaults to ControlPlaneVersion).
	TopologyVersion     string
	ControlPlaneVersion string
	// ObservedVersion is what the control plane reports (defaults to ControlPlaneVersion).
	ObservedVersion string
	Replicas        int32
	Workers         []WorkerSpec
	Annotations     map[string]string
	Paused          bool
	// ClassPatches says the ClusterClass has ClassSpec.Patches: the control plane
	// carries what they set at its version, as the topology controller left it.
	ClassPatches bool
	// ImageRepository is the value of the ClusterClass variable of
	// ClassSpec.Variables ("" when the class has none); the control plane
	// carries it, as the topology controller left it.
	ImageRepository string
}

// Cluster returns the Cluster, its KubeadmControlPlane, MachineDeployments,
// MachineSets, MachinePools and Machines, as the CAPI controllers would have left them.
func Cluster(s ClusterSpec) Objects {
	topology := s.Class != ""
	c := &clusterv1.Cluster{TypeMeta: typeMeta(clusterv1.GroupVersion.String(), "Cluster")}
	meta(&c.ObjectMeta, s.Namespace, s.Name, nil)
	c.Annotations = s.Annotations
	if s.Paused {
		c.Spec.Paused = ptr.To(true)
	}
	c.Spec.ClusterNetwork.Pods.CIDRBlocks = []string{"192.168.0.0/16"}
	c.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: cpGroup, Kind: "KubeadmControlPlane", Name: s.Name + "-control-plane"}
	c.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infraGroup, Kind: "DockerCluster", Name: s.Name}
	owned := map[string]string{clusterv1.ClusterNameLabel: s.Name}
	if topology {
		owned[clusterv1.ClusterTopologyOwnedLabel] = ""
		c.Spec.Topology.ClassRef.Name = s.Class
		c.Spec.Topology.Version = s.TopologyVersion
		if c.Spec.Topology.Version == "" {
			c.Spec.Topology.Version = s.ControlPlaneVersion
		}
		c.Spec.Topology.ControlPlane.Replicas = ptr.To(s.Replicas)
		if s.ImageRepository != "" {
			c.Spec.Topology.Variables = []clusterv1.ClusterVariable{{Name: ImageRepositoryVariable, Value: apiextensionsv1.JSON{Raw: []byte(strconv.Quote(s.ImageRepository))}}}
		}
		for _, w := range s.Workers {
			md := clusterv1.ObjectMeta{Annotations: w.Annotations}
			if w.Pool {
				c.Spec.Topology.Workers.MachinePools = append(c.Spec.Topology.Workers.MachinePools,
					clusterv1.MachinePoolTopology{Class: "default-pool", Name: w.Name, Replicas: ptr.To(w.Replicas), Metadata: md})
			} else {
				c.Spec.Topology.Workers.MachineDeployments = append(c.Spec.Topology.Workers.MachineDeployments,
					clusterv1.MachineDeploymentTopology{Class: "default-worker", Name: w.Name, Replicas: ptr.To(w.Replicas), Metadata: md})
			}
		}
	}
	out := Objects{c}
	out = append(out, controlPlane(s, owned)...)
	for _, w := range s.Workers {
		if w.Pool {
			out = append(out, machinePool(s, w, owned))
		} else {
			out = append(out, machineDeployment(s, w, owned)...)
		}
	}
	return out
}

func controlPlane(s ClusterSpec, owned map[string]string) Objects {
	name := s.Name + "-control-plane"
	kcp := &controlplanev1.KubeadmControlPlane{TypeMeta: typeMeta(controlplanev1.GroupVersion.String(), "KubeadmControlPlane")}
	meta(&kcp.ObjectMeta, s.Namespace, name, owned)
	kcp.Spec.Replicas = ptr.To(s.Replicas)
	kcp.Spec.Version = s.ControlPlaneVersion
	kcp.Spec.MachineTemplate.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infraGroup, Kind: "DockerMachineTemplate", Name: name}
	kcp.Spec.Rollout.Strategy.Type = controlplanev1.RollingUpdateStrategyType
	kcp.Spec.Rollout.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(1))
	kcp.Spec.KubeadmConfigSpec.ClusterConfiguration.APIServer.CertSANs = []string{"localhost", "127.0.0.1"}
	if s.ClassPatches {
		kcp.Spec.KubeadmConfigSpec.ClusterConfiguration.Etcd.Local.ImageTag = EtcdImageTag(s.ControlPlaneVersion)
		kcp.Spec.KubeadmConfigSpec.Files = []bootstrapv1.File{{Path: VersionFile, Content: s.ControlPlaneVersion}}
	}
	kcp.Spec.KubeadmConfigSpec.ClusterConfiguration.ImageRepository = s.ImageRepository
	observed := s.ObservedVersion
	if observed == "" {
		observed = s.ControlPlaneVersion
	}
	// KCP counts its Machines by their conditions (setReplicas): those at
	// an older version than its spec are not up to date.
	upToDate := observed == s.ControlPlaneVersion
	kcp.Status.Replicas = ptr.To(s.Replicas)
	kcp.Status.ReadyReplicas = ptr.To(s.Replicas)
	kcp.Status.AvailableReplicas = ptr.To(s.Replicas)
	kcp.Status.UpToDateReplicas = ptr.To(int32(0))
	if upToDate {
		kcp.Status.UpToDateReplicas = ptr.To(s.Replicas)
	}
	//lint:ignore SA1019 KCP still sets the deprecated status.version; fixtures look like real objects.
	kcp.Status.Version = observed
	kcp.Status.Versions = []clusterv1.StatusVersion{{Version: observed, Replicas: s.Replicas}}
	kcp.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
	// The templates the control plane's Machines are cloned from, as the topology controller (or a user) created them.
	out := Objects{kcp, template(infraAPI, "DockerMachineTemplate", s.Namespace, name, dockerMachine())}
	cpLabels := merge(owned, map[string]string{clusterv1.MachineControlPlaneLabel: "", clusterv1.MachineControlPlaneNameLabel: name})
	for i := range s.Replicas {
		out = append(out, machine(s, fmt.Sprintf("%s-%s", name, suffix(i)), observed, cpLabels, "KubeadmConfig", upToDate))
	}
	return out
}

func machineDeployment(s ClusterSpec, w WorkerSpec, owned map[string]string) Objects {
	name := s.Name + "-" + w.Name
	labels := merge(owned, nil)
	if s.Class != "" {
		labels[clusterv1.ClusterTopologyMachineDeploymentNameLabel] = w.Name
	}
	md := &clusterv1.MachineDeployment{TypeMeta: typeMeta(clusterv1.GroupVersion.String(), "MachineDeployment")}
	meta(&md.ObjectMeta, s.Namespace, name, labels)
	md.Spec.ClusterName = s.Name
	md.Spec.Replicas = ptr.To(w.Replicas)
	md.Spec.Rollout.Strategy.Type = clusterv1.RollingUpdateMachineDeploymentStrategyType
	md.Spec.Rollout.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(1))
	md.Spec.Rollout.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(0))
	md.Spec.Selector.MatchLabels = map[string]string{clusterv1.ClusterNameLabel: s.Name, clusterv1.MachineDeploymentNameLabel: name}
	md.Spec.Template.Labels = merge(md.Spec.Selector.MatchLabels, nil)
	md.Spec.Template.Spec.ClusterName = s.Name
	md.Spec.Template.Spec.Version = w.Version
	md.Spec.Template.Spec.Bootstrap.ConfigRef = clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapGroup, Kind: "KubeadmConfigTemplate", Name: name}
	md.Spec.Template.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infraGroup, Kind: "DockerMachineTemplate", Name: name}
	md.Status.Replicas = ptr.To(w.Replicas)
	md.Status.ReadyReplicas = ptr.To(w.Replicas)
	md.Status.AvailableReplicas = ptr.To(w.Replicas)
	md.Status.UpToDateReplicas = ptr.To(w.Replicas)
	md.Status.Versions = []clusterv1.StatusVersion{{Version: w.Version, Replicas: w.Replicas}}

	msName := name + "-7d9f8c6b5"
	ms := &clusterv1.MachineSet{TypeMeta: typeMeta(clusterv1.GroupVersion.String(), "MachineSet")}
	meta(&ms.ObjectMeta, s.Namespace, msName, merge(labels, map[string]string{clusterv1.MachineDeploymentNameLabel: name}))
	ms.Spec.ClusterName = s.Name
	ms.Spec.Replicas = ptr.To(w.Replicas)
	ms.Spec.Selector = md.Spec.Selector
	ms.Spec.Template = md.Spec.Template
	// The MachineSet controller counts its Machines by their conditions, and
	// the MachineDeployment controller sums its MachineSets' counters.
	ms.Status.Replicas = ptr.To(w.Replicas)
	ms.Status.ReadyReplicas = ptr.To(w.Replicas)
	ms.Status.AvailableReplicas = ptr.To(w.Replicas)
	ms.Status.UpToDateReplicas = ptr.To(w.Replicas)
	ms.Status.Versions = md.Status.Versions
	out := Objects{md, ms,
		template(infraAPI, "DockerMachineTemplate", s.Namespace, name, dockerMachine()),
		template(bootstrapAPI, "KubeadmConfigTemplate", s.Namespace, name, kubeadmConfig()),
	}
	mLabels := merge(md.Spec.Selector.MatchLabels, map[string]string{clusterv1.MachineSetNameLabel: msName})
	for i := range w.Replicas {
		out = append(out, machine(s, fmt.Sprintf("%s-%s", msName, suffix(i)), w.Version, mLabels, "KubeadmConfig", true))
	}
	return out
}

func machinePool(s ClusterSpec, w WorkerSpec, owned map[string]string) *clusterv1.MachinePool {
	name := s.Name + "-" + w.Name
	labels := merge(owned, nil)
	if s.Class != "" {
		labels[clusterv1.ClusterTopologyMachinePoolNameLabel] = w.Name
	}
	mp := &clusterv1.MachinePool{TypeMeta: typeMeta(clusterv1.GroupVersion.String(), "MachinePool")}
	meta(&mp.ObjectMeta, s.Namespace, name, labels)
	mp.Spec.ClusterName = s.Name
	mp.Spec.Replicas = ptr.To(w.Replicas)
	mp.Spec.Template.Spec.ClusterName = s.Name
	mp.Spec.Template.Spec.Version = w.Version
	mp.Spec.Template.Spec.Bootstrap.ConfigRef = clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapGroup, Kind: "KubeadmConfig", Name: name}
	mp.Spec.Template.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infraGroup, Kind: "DockerMachinePool", Name: name}
	mp.Status.Replicas = ptr.To(w.Replicas)
	mp.Status.ReadyReplicas = ptr.To(w.Replicas)
	mp.Status.Versions = []clusterv1.StatusVersion{{Version: w.Version, Replicas: w.Replicas}}
	return mp
}

// machine is a provisioned Machine at version; upToDate says whether its
// spec matches its owner's (CAPI's UpToDate condition).
func machine(s ClusterSpec, name, version string, labels map[string]string, bootstrapKind string, upToDate bool) *clusterv1.Machine {
	m := &clusterv1.Machine{TypeMeta: typeMeta(clusterv1.GroupVersion.String(), "Machine")}
	meta(&m.ObjectMeta, s.Namespace, name, labels)
	m.Spec.ClusterName = s.Name
	m.Spec.Version = version
	m.Spec.Bootstrap.ConfigRef = clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapGroup, Kind: bootstrapKind, Name: name}
	m.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infraGroup, Kind: "DockerMachine", Name: name}
	m.Status.NodeRef.Name = name
	m.Status.NodeInfo = &corev1.NodeSystemInfo{KubeletVersion: version, KernelVersion: "6.8.0", OSImage: "Ubuntu 24.04 LTS", ContainerRuntimeVersion: "containerd://2.1.4", Architecture: "amd64", OperatingSystem: "linux"}
	m.Status.Phase = string(clusterv1.MachinePhaseRunning)
	// The node got ready a few minutes after the Machine was created (varies by Machine).
	ready := Epoch.Add(4*time.Minute + time.Duration(len(name)%7)*20*time.Second)
	at := metav1.NewTime(ready)
	upToDateCondition := metav1.Condition{Type: clusterv1.MachineUpToDateCondition, Status: metav1.ConditionTrue, Reason: clusterv1.MachineUpToDateReason, LastTransitionTime: at}
	if !upToDate {
		upToDateCondition.Status, upToDateCondition.Reason = metav1.ConditionFalse, clusterv1.MachineNotUpToDateReason
	}
	m.Status.Conditions = []metav1.Condition{
		{Type: clusterv1.MachineAvailableCondition, Status: metav1.ConditionTrue, Reason: clusterv1.MachineAvailableReason, LastTransitionTime: at},
		{Type: clusterv1.MachineNodeReadyCondition, Status: metav1.ConditionTrue, Reason: "NodeReady", LastTransitionTime: at},
		{Type: clusterv1.MachineReadyCondition, Status: metav1.ConditionTrue, Reason: clusterv1.MachineReadyReason, LastTransitionTime: at},
		upToDateCondition,
	}
	m.Status.CertificatesExpiryDate = metav1.NewTime(Epoch.AddDate(1, 0, 0))
	return m
}

// ExtensionSpec describes an ExtensionConfig and the hooks it registers.
type ExtensionSpec struct {
	Name  string
	URL   string
	Hooks []string
	// NamespaceSelector restricts the extension to matching namespaces.
	NamespaceSelector map[string]string
}

// ExtensionConfig returns a discovered ExtensionConfig registering one handler per
// hook, named as CAPI's discovery names them: "<handler>.<ExtensionConfig name>".
func ExtensionConfig(s ExtensionSpec) *runtimev1.ExtensionConfig {
	ec := &runtimev1.ExtensionConfig{TypeMeta: typeMeta(runtimev1.GroupVersion.String(), "ExtensionConfig")}
	meta(&ec.ObjectMeta, "", s.Name, nil)
	ec.Generation = 1
	ec.Spec.ClientConfig.URL = s.URL
	ec.Spec.ClientConfig.CABundle = []byte("-----BEGIN CERTIFICATE-----\nMIIBfixture\n-----END CERTIFICATE-----\n")
	if s.NamespaceSelector != nil {
		ec.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: s.NamespaceSelector}
	}
	for _, h := range s.Hooks {
		ec.Status.Handlers = append(ec.Status.Handlers, runtimev1.ExtensionHandler{
			Name:           HandlerName(h) + "." + s.Name,
			RequestHook:    runtimev1.GroupVersionHook{APIVersion: "hooks.runtime.cluster.x-k8s.io/v1alpha1", Hook: h},
			TimeoutSeconds: 10,
			FailurePolicy:  runtimev1.FailurePolicyFail,
		})
	}
	// As the core controller writes them (checked by test/e2e/realcapi against the real one).
	ec.Status.Conditions = []metav1.Condition{
		{Type: runtimev1.ExtensionConfigDiscoveredCondition, Status: metav1.ConditionTrue,
			Reason: runtimev1.ExtensionConfigDiscoveredReason, ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(Epoch)},
		{Type: clusterv1.PausedCondition, Status: metav1.ConditionFalse, Reason: clusterv1.NotPausedReason, ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(Epoch)},
	}
	return ec
}

// HandlerName is the name an extension built by these fixtures gives its handler of
// a hook, e.g. can-update-machine-set for CanUpdateMachineSet; CAPI registers it
// as <handler>.<ExtensionConfig name> and calls it at .../<hook>/<handler>.
func HandlerName(s string) string {
	var out []rune
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				out = append(out, '-')
			}
			r += 'a' - 'A'
		}
		out = append(out, r)
	}
	return string(out)
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func meta(m *metav1.ObjectMeta, ns, name string, labels map[string]string) {
	m.Namespace = ns
	m.Name = name
	m.Labels = labels
	m.CreationTimestamp = metav1.NewTime(Epoch)
	m.Generation = 1
}

func ref(apiVersion, kind, name string) clusterv1.ClusterClassTemplateReference {
	return clusterv1.ClusterClassTemplateReference{APIVersion: apiVersion, Kind: kind, Name: name}
}

func template(apiVersion, kind, ns, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetCreationTimestamp(metav1.NewTime(Epoch))
	return u
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func suffix(i int32) string {
	return string([]byte{"abcdefghijklmnopqrstuvwxyz"[i%26], "bcdfghjklmnpqrstvwxz"[(i*7)%20], '0' + byte(i%10), 'k', 'q'})
}

// ControllerSpec describes a CAPI provider's controller Deployment.
type ControllerSpec struct {
	Namespace, Name, Provider, Image string
	FeatureGates                     string
}

// Controller returns a provider's controller Deployment, as clusterctl installs it.
func Controller(s ControllerSpec) *appsv1.Deployment {
	d := &appsv1.Deployment{TypeMeta: typeMeta("apps/v1", "Deployment")}
	meta(&d.ObjectMeta, s.Namespace, s.Name, map[string]string{"cluster.x-k8s.io/provider": s.Provider, "control-plane": "controller-manager"})
	selector := map[string]string{"cluster.x-k8s.io/provider": s.Provider}
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: selector}
	d.Spec.Template.Labels = selector
	args := []string{"--leader-elect", "--diagnostics-address=:8443"}
	if s.FeatureGates != "" {
		args = append(args, "--feature-gates="+s.FeatureGates)
	}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "manager", Image: s.Image, Command: []string{"/manager"}, Args: args}}
	return d
}

// Provider returns a clusterctl Provider object.
func Provider(namespace, name, providerType, providerName, version string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"type": providerType, "providerName": providerName, "version": version}}
	u.SetAPIVersion("clusterctl.cluster.x-k8s.io/v1alpha3")
	u.SetKind("Provider")
	u.SetNamespace(namespace)
	u.SetName(name)
	u.SetCreationTimestamp(metav1.NewTime(Epoch))
	return u
}
