package capienv

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
)

// ClusterSpec describes a Cluster to provision in the box's in-memory backend.
type ClusterSpec struct {
	Namespace, Name string
	// Version is the Kubernetes version to provision.
	Version string
	// Topology: a ClusterClass-managed Cluster; otherwise a KubeadmControlPlane and
	// MachineDeployments created directly.
	Topology bool
	// Versions is the ClusterClass spec.kubernetesVersions (topology only).
	Versions []string
	// UpgradePlanExtension is the ClusterClass generateUpgradePlanExtension, a
	// registered handler name (topology only).
	UpgradePlanExtension string
	// Patches adds the ClusterClass patches of the bundled example: the etcd image
	// tag and a version file, from builtin.controlPlane.version.
	Patches bool
	// RotateAt adds a ClusterClass patch that changes the control plane's
	// DevMachineTemplate from that version on (e.g. "1.35.0"), so the topology
	// controller rotates the template at the step that reaches it.
	RotateAt string
	// Annotations on the Cluster, e.g. topology.cluster.x-k8s.io/upgrade-concurrency.
	Annotations map[string]string

	ControlPlaneReplicas int
	// ControlPlaneMaxSurge is KCP's rollingUpdate.maxSurge: 0 or 1.
	ControlPlaneMaxSurge int
	MachineDeployments   []MachineDeploymentSpec
	// Startup is each in-memory provisioning phase's duration (default 1s).
	Startup time.Duration
}

// MachineDeploymentSpec describes one MachineDeployment.
type MachineDeploymentSpec struct {
	// Name is the topology name (the object is <cluster>-<name>... for
	// unmanaged Clusters, exactly <cluster>-<name>).
	Name                     string
	Replicas                 int
	MaxSurge, MaxUnavailable int
	OnDelete                 bool
	// Annotations on the topology entry, e.g. defer-upgrade.
	Annotations map[string]string
}

//go:embed cluster.yaml.tmpl
var clusterTemplate string

var clusterTmpl = template.Must(template.New("cluster").Funcs(template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
	},
}).Parse(clusterTemplate))

// Objects renders the Cluster's objects.
func (s ClusterSpec) Objects() ([]*unstructured.Unstructured, error) {
	if s.Startup == 0 {
		s.Startup = time.Second
	}
	type md struct {
		MachineDeploymentSpec
		Strategy string
	}
	data := struct {
		ClusterSpec
		Startup            string
		KCPSpec            string
		MachineDeployments []md
	}{ClusterSpec: s, Startup: s.Startup.String(), KCPSpec: fmt.Sprintf(`rollout:
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: %d
kubeadmConfigSpec:
  clusterConfiguration:
    apiServer:
      certSANs: [localhost, 127.0.0.1]
  initConfiguration:
    nodeRegistration:
      criSocket: unix:///var/run/containerd/containerd.sock
  joinConfiguration:
    nodeRegistration:
      criSocket: unix:///var/run/containerd/containerd.sock`, s.ControlPlaneMaxSurge)}
	for _, m := range s.MachineDeployments {
		strategy := fmt.Sprintf("type: RollingUpdate\nrollingUpdate:\n  maxSurge: %d\n  maxUnavailable: %d", m.MaxSurge, m.MaxUnavailable)
		if m.OnDelete {
			strategy = "type: OnDelete"
		}
		data.MachineDeployments = append(data.MachineDeployments, md{m, strategy})
	}
	var buf bytes.Buffer
	if err := clusterTmpl.Execute(&buf, data); err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(&buf, 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err.Error() == "EOF" {
				return out, nil
			}
			return nil, fmt.Errorf("rendering Cluster %s/%s: %w\n%s", s.Namespace, s.Name, err, buf.String())
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// CreateCluster creates the Cluster's objects and waits until the controllers
// have provisioned it: the control plane and every MachineDeployment available
// at the Cluster's version with all replicas up to date.
func (e *Env) CreateCluster(ctx context.Context, s ClusterSpec, timeout time.Duration) error {
	objs, err := s.Objects()
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := e.Client.Create(ctx, o); err != nil && !(o.GetKind() == "Namespace" && apierrors.IsAlreadyExists(err)) {
			return fmt.Errorf("creating %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return e.WaitProvisioned(ctx, s.Namespace, s.Name, timeout)
}

// WaitProvisioned waits until the Cluster's control plane and MachineDeployments
// are at rest: every Machine up to date and available, and as many as desired.
func (e *Env) WaitProvisioned(ctx context.Context, namespace, name string, timeout time.Duration) error {
	return e.WaitAt(ctx, namespace, name, "", timeout)
}

// WaitAt waits until the Cluster is at rest (see WaitProvisioned) with its
// control plane and every MachineDeployment at version ("" for any version).
func (e *Env) WaitAt(ctx context.Context, namespace, name, version string, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		ok, why, err := e.atRest(ctx, namespace, name, version)
		last = why
		return ok, err
	})
	if err != nil {
		return fmt.Errorf("the Cluster %s/%s is not at rest after %s (%s): %w", namespace, name, timeout, last, err)
	}
	return nil
}

func (e *Env) atRest(ctx context.Context, namespace, name, version string) (bool, string, error) {
	c := &clusterv1.Cluster{}
	if err := e.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: namespace, Name: name}, c); err != nil {
		return false, err.Error(), nil
	}
	if !conditions.IsTrue(c, clusterv1.ClusterControlPlaneInitializedCondition) {
		return false, "control plane not initialized", nil
	}
	kcp := &controlplanev1.KubeadmControlPlane{}
	if err := e.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: namespace, Name: c.Spec.ControlPlaneRef.Name}, kcp); err != nil {
		return false, err.Error(), nil
	}
	if why := controlPlaneAtRest(kcp, version); why != "" {
		return false, why, nil
	}
	mds := &clusterv1.MachineDeploymentList{}
	if err := e.Client.List(ctx, mds, ctrlclient.InNamespace(namespace), ctrlclient.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
		return false, "", err
	}
	for _, md := range mds.Items {
		why, err := e.machineDeploymentAtRest(ctx, &md, version)
		if err != nil || why != "" {
			return false, why, err
		}
	}
	if c.Spec.Topology.IsDefined() && !conditions.IsTrue(c, clusterv1.ClusterTopologyReconciledCondition) {
		return false, "TopologyReconciled is not True: " + conditions.GetMessage(c, clusterv1.ClusterTopologyReconciledCondition), nil
	}
	return true, "", nil
}

// WaitObjectAt waits until one KubeadmControlPlane or MachineDeployment is at
// rest at version: observed, every replica up to date and available.
func (e *Env) WaitObjectAt(ctx context.Context, kind, namespace, name, version string, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		last, err = e.ObjectAt(ctx, kind, namespace, name, version)
		return last == "", err
	})
	if err != nil {
		return fmt.Errorf("%s %s/%s is not at rest at %s after %s (%s): %w", kind, namespace, name, version, timeout, last, err)
	}
	return nil
}

// ObjectAt says why a KubeadmControlPlane or MachineDeployment is not at rest
// at version (see WaitObjectAt), or "" when it is.
func (e *Env) ObjectAt(ctx context.Context, kind, namespace, name, version string) (string, error) {
	key := ctrlclient.ObjectKey{Namespace: namespace, Name: name}
	switch kind {
	case "KubeadmControlPlane":
		kcp := &controlplanev1.KubeadmControlPlane{}
		if err := e.Client.Get(ctx, key, kcp); err != nil {
			return "", err
		}
		return controlPlaneAtRest(kcp, version), nil
	case "MachineDeployment":
		md := &clusterv1.MachineDeployment{}
		if err := e.Client.Get(ctx, key, md); err != nil {
			return "", err
		}
		return e.machineDeploymentAtRest(ctx, md, version)
	}
	return "", fmt.Errorf("cannot tell whether a %s is at rest", kind)
}

// controlPlaneAtRest says why the KubeadmControlPlane is not at rest at version, or "".
func controlPlaneAtRest(kcp *controlplanev1.KubeadmControlPlane, version string) string {
	if version != "" && kcp.Spec.Version != version {
		return fmt.Sprintf("KubeadmControlPlane %s at %s, not %s", kcp.Name, kcp.Spec.Version, version)
	}
	want := ptrInt(kcp.Spec.Replicas)
	if kcp.Status.ObservedGeneration != kcp.Generation || ptrInt(kcp.Status.Replicas) != want ||
		ptrInt(kcp.Status.UpToDateReplicas) != want || ptrInt(kcp.Status.AvailableReplicas) != want {
		return fmt.Sprintf("KubeadmControlPlane %s: %d replicas, %d up to date, %d available, want %d", kcp.Name,
			ptrInt(kcp.Status.Replicas), ptrInt(kcp.Status.UpToDateReplicas), ptrInt(kcp.Status.AvailableReplicas), want)
	}
	for _, v := range kcp.Status.Versions {
		if v.Version != kcp.Spec.Version {
			return fmt.Sprintf("KubeadmControlPlane %s: a Machine still at %s", kcp.Name, v.Version)
		}
	}
	return ""
}

// machineDeploymentAtRest says why the MachineDeployment is not at rest at
// version, or "". Its status alone is not enough: right after a change of its
// spec it can report every replica up to date before the new MachineSet
// exists, so its Machines are counted too.
func (e *Env) machineDeploymentAtRest(ctx context.Context, md *clusterv1.MachineDeployment, version string) (string, error) {
	if version != "" && md.Spec.Template.Spec.Version != version {
		return fmt.Sprintf("MachineDeployment %s at %s, not %s", md.Name, md.Spec.Template.Spec.Version, version), nil
	}
	want := ptrInt(md.Spec.Replicas)
	if md.Status.ObservedGeneration != md.Generation || ptrInt(md.Status.Replicas) != want ||
		ptrInt(md.Status.UpToDateReplicas) != want || ptrInt(md.Status.AvailableReplicas) != want {
		return fmt.Sprintf("MachineDeployment %s: %d replicas, %d up to date, %d available, want %d", md.Name,
			ptrInt(md.Status.Replicas), ptrInt(md.Status.UpToDateReplicas), ptrInt(md.Status.AvailableReplicas), want), nil
	}
	machines := &clusterv1.MachineList{}
	if err := e.Client.List(ctx, machines, ctrlclient.InNamespace(md.Namespace), ctrlclient.MatchingLabels{clusterv1.MachineDeploymentNameLabel: md.Name}); err != nil {
		return "", err
	}
	if len(machines.Items) != want {
		return fmt.Sprintf("MachineDeployment %s: %d Machines, want %d", md.Name, len(machines.Items), want), nil
	}
	for _, m := range machines.Items {
		if m.Spec.Version != md.Spec.Template.Spec.Version || !m.DeletionTimestamp.IsZero() {
			return fmt.Sprintf("MachineDeployment %s: Machine %s at %s", md.Name, m.Name, m.Spec.Version), nil
		}
	}
	return "", nil
}

func ptrInt(p *int32) int {
	if p == nil {
		return 0
	}
	return int(*p)
}

// Demo is the sandbox's demo Cluster, shaped like the bundled example: a
// ClusterClass listing v1.33.4 ... v1.36.3 with the etcd-image and version-file
// patches, 3 control plane replicas with maxSurge 1, and two MachineDeployments.
func Demo() ClusterSpec {
	return ClusterSpec{
		Namespace: "demo", Name: "web", Version: "v1.33.4", Topology: true, Patches: true,
		Versions:             []string{"v1.33.4", "v1.34.3", "v1.35.2", "v1.36.3"},
		ControlPlaneReplicas: 3, ControlPlaneMaxSurge: 1,
		MachineDeployments: []MachineDeploymentSpec{
			{Name: "md-0", Replicas: 2, MaxSurge: 1},
			{Name: "md-1", Replicas: 1, MaxSurge: 1},
		},
	}
}
