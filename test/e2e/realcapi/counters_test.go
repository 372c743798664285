package realcapi

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/capi-planner/capi-planner/state"
)

// counters are what the controllers write in a control plane's,
// MachineDeployment's or MachineSet's status from its Machines: replicas, how
// many are ready, available and up to date, and how many run each version.
type counters struct {
	replicas, ready, available, upToDate int32
	versions                             map[string]int32
}

func (c counters) String() string {
	return fmt.Sprintf("replicas %d, ready %d, available %d, up to date %d, versions %v", c.replicas, c.ready, c.available, c.upToDate, c.versions)
}

func (c counters) equal(o counters) bool {
	return c.replicas == o.replicas && c.ready == o.ready && c.available == o.available && c.upToDate == o.upToDate && maps.Equal(c.versions, o.versions)
}

// fromMachines counts Machines as KCP's and the MachineSet controller's
// setReplicas do: by their Ready, Available and UpToDate conditions, and by
// spec.version (status.versions). The MachineSet controller counts a Machine
// being updated in place as none of ready, available and up to date.
func fromMachines(machines []*clusterv1.Machine, skipUpdating bool) counters {
	c := counters{replicas: int32(len(machines)), versions: map[string]int32{}}
	for _, m := range machines {
		c.versions[m.Spec.Version]++
		if skipUpdating && updatingInPlace(m) {
			continue
		}
		if meta.IsStatusConditionTrue(m.Status.Conditions, clusterv1.MachineReadyCondition) {
			c.ready++
		}
		if meta.IsStatusConditionTrue(m.Status.Conditions, clusterv1.MachineAvailableCondition) {
			c.available++
		}
		if meta.IsStatusConditionTrue(m.Status.Conditions, clusterv1.MachineUpToDateCondition) {
			c.upToDate++
		}
	}
	return c
}

// updatingInPlace is CAPI's inplace.IsUpdateInProgress (internal/util/inplace).
func updatingInPlace(m *clusterv1.Machine) bool {
	_, updating := m.Annotations[clusterv1.UpdateInProgressAnnotation]
	return updating || slices.Contains(strings.Split(m.Annotations[runtimev1.PendingHooksAnnotation], ","), "UpdateMachine")
}

// fromStatus reads the counters a status holds; ok is false when it holds none.
func fromStatus(replicas, ready, available, upToDate *int32, versions []clusterv1.StatusVersion) (counters, bool) {
	if replicas == nil {
		return counters{}, false
	}
	c := counters{replicas: *replicas, ready: ptr.Deref(ready, 0), available: ptr.Deref(available, 0), upToDate: ptr.Deref(upToDate, 0), versions: map[string]int32{}}
	for _, v := range versions {
		c.versions[v.Version] += v.Replicas
	}
	return c, true
}

// kcpStatus reads a KubeadmControlPlane's counters from its unstructured form.
func kcpStatus(u *unstructured.Unstructured) (counters, bool, error) {
	kcp := &controlplanev1.KubeadmControlPlane{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, kcp); err != nil {
		return counters{}, false, err
	}
	c, ok := fromStatus(kcp.Status.Replicas, kcp.Status.ReadyReplicas, kcp.Status.AvailableReplicas, kcp.Status.UpToDateReplicas, kcp.Status.Versions)
	return c, ok, nil
}

// machinesOfSet are the Machines a MachineSet's controller counts: those its
// selector matches, in its namespace, not owned by another controller.
func machinesOfSet(ms *clusterv1.MachineSet, machines []*clusterv1.Machine) ([]*clusterv1.Machine, error) {
	sel, err := metav1.LabelSelectorAsSelector(&ms.Spec.Selector)
	if err != nil {
		return nil, err
	}
	var out []*clusterv1.Machine
	for _, m := range machines {
		if m.Namespace != ms.Namespace || !sel.Matches(labels.Set(m.Labels)) {
			continue
		}
		if owner := metav1.GetControllerOf(m); owner != nil && (owner.Kind != "MachineSet" || owner.Name != ms.Name) {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// counterMismatches compares every control plane's, MachineSet's and
// MachineDeployment's status counters in st with what CAPI's controllers
// compute from st's Machines (a MachineDeployment's from its MachineSets'
// status). It returns the mismatches and how many objects it compared.
func counterMismatches(st *state.State) (mismatches []string, compared int, err error) {
	for _, cp := range st.ControlPlanes {
		if cp.GetKind() != "KubeadmControlPlane" {
			continue
		}
		got, ok, err := kcpStatus(cp)
		if err != nil {
			return nil, 0, fmt.Errorf("KubeadmControlPlane %s/%s: %w", cp.GetNamespace(), cp.GetName(), err)
		}
		if !ok {
			continue
		}
		compared++
		if want := fromMachines(st.ControlPlaneMachines(cp.GetNamespace(), cp.GetName()), false); !got.equal(want) {
			mismatches = append(mismatches, fmt.Sprintf("KubeadmControlPlane %s/%s: status says %s; its Machines give %s", cp.GetNamespace(), cp.GetName(), got, want))
		}
	}
	setStatus := map[string]counters{}
	for _, ms := range st.MachineSets {
		got, ok := fromStatus(ms.Status.Replicas, ms.Status.ReadyReplicas, ms.Status.AvailableReplicas, ms.Status.UpToDateReplicas, ms.Status.Versions)
		if !ok {
			continue
		}
		setStatus[ms.Namespace+"/"+ms.Name] = got
		machines, err := machinesOfSet(ms, st.Machines)
		if err != nil {
			return nil, 0, fmt.Errorf("MachineSet %s/%s: %w", ms.Namespace, ms.Name, err)
		}
		compared++
		if want := fromMachines(machines, true); !got.equal(want) {
			mismatches = append(mismatches, fmt.Sprintf("MachineSet %s/%s: status says %s; its Machines give %s", ms.Namespace, ms.Name, got, want))
		}
	}
	for _, md := range st.MachineDeployments {
		got, ok := fromStatus(md.Status.Replicas, md.Status.ReadyReplicas, md.Status.AvailableReplicas, md.Status.UpToDateReplicas, md.Status.Versions)
		if !ok {
			continue
		}
		want := counters{versions: map[string]int32{}}
		for _, ms := range st.MachineSetsOf(md) {
			c := setStatus[ms.Namespace+"/"+ms.Name]
			want.replicas += c.replicas
			want.ready += c.ready
			want.available += c.available
			want.upToDate += c.upToDate
			for v, n := range c.versions {
				want.versions[v] += n
			}
		}
		compared++
		if !got.equal(want) {
			mismatches = append(mismatches, fmt.Sprintf("MachineDeployment %s/%s: status says %s; its MachineSets' status gives %s", md.Namespace, md.Name, got, want))
		}
	}
	return mismatches, compared, nil
}

// checkCountersOfTheBox checks that counterMismatches models CAPI: in the
// box's namespace ns, once the controllers are at rest, the real controllers'
// counters match it.
func checkCountersOfTheBox(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	var last []string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		st := &state.State{}
		for _, list := range []ctrlclient.ObjectList{&controlplanev1.KubeadmControlPlaneList{}, &clusterv1.MachineSetList{}, &clusterv1.MachineDeploymentList{}, &clusterv1.MachineList{}} {
			if err := env.Client.List(ctx, list, ctrlclient.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			items, err := meta.ExtractList(list)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range items {
				if err := st.Add(o); err != nil {
					t.Fatal(err)
				}
			}
		}
		mismatches, compared, err := counterMismatches(st)
		if err != nil {
			t.Fatal(err)
		}
		if len(mismatches) == 0 && compared >= 3 {
			t.Logf("the real controllers' counters of %d objects are what counterMismatches computes", compared)
			return
		}
		last = mismatches
	}
	t.Fatalf("the real controllers' counters differ from what the test computes (the model of CAPI is wrong):\n%v", last)
}
