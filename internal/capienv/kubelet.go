package capienv

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
)

// emulateKubelets is the box's one emulation. A real kubelet updated in place
// restarts at the new version; the in-memory backend's fake Node keeps the
// status.nodeInfo.kubeletVersion it was created with, so KCP and the
// MachineDeployment would wait for ever. Once a Machine is no longer updating in
// place (no update-in-progress annotation, no pending UpdateMachine hook, its
// Updating condition not True), its Node's kubeletVersion is set to the
// Machine's spec.version. Machines that were never updated in place already
// match, so nothing else is touched.
func (e *Env) emulateKubelets(ctx context.Context) {
	// Workload clients are kept across rounds: one per Cluster, made once it is reachable.
	workload := map[types.NamespacedName]ctrlclient.Client{}
	for {
		if err := e.syncKubelets(ctx, workload); err != nil && ctx.Err() == nil {
			e.log("kubelet emulation: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (e *Env) syncKubelets(ctx context.Context, workload map[types.NamespacedName]ctrlclient.Client) error {
	machines := &clusterv1.MachineList{}
	if err := e.Client.List(ctx, machines); err != nil {
		return err
	}
	for i := range machines.Items {
		m := &machines.Items[i]
		if !m.Status.NodeRef.IsDefined() || m.Spec.Version == "" || updatingInPlace(m) {
			continue
		}
		key := types.NamespacedName{Namespace: m.Namespace, Name: m.Spec.ClusterName}
		c, ok := workload[key]
		if !ok {
			var err error
			if c, err = e.workloadClient(ctx, key); err != nil {
				continue // not reachable yet: the next round tries again
			}
			workload[key] = c
		}
		node := &corev1.Node{}
		if err := c.Get(ctx, ctrlclient.ObjectKey{Name: m.Status.NodeRef.Name}, node); err != nil {
			if !apierrors.IsNotFound(err) {
				return err
			}
			continue
		}
		if node.Status.NodeInfo.KubeletVersion == m.Spec.Version {
			continue
		}
		e.log("kubelet emulation: Node %s of Machine %s/%s now reports %s (was %s)", node.Name, m.Namespace, m.Name, m.Spec.Version, node.Status.NodeInfo.KubeletVersion)
		patch := fmt.Appendf(nil, `{"status":{"nodeInfo":{"kubeletVersion":%q}}}`, m.Spec.Version)
		if err := c.Patch(ctx, node, ctrlclient.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("patching Node %s: %w", node.Name, err)
		}
	}
	return nil
}

func updatingInPlace(m *clusterv1.Machine) bool {
	if _, ok := m.Annotations[clusterv1.UpdateInProgressAnnotation]; ok {
		return true
	}
	if hooks := m.Annotations[runtimev1.PendingHooksAnnotation]; hooks != "" {
		return true
	}
	return conditions.IsTrue(m, clusterv1.MachineUpdatingCondition)
}

// workloadClient reaches a workload cluster's (fake) API server through the
// kubeconfig Secret CAPI writes for it.
func (e *Env) workloadClient(ctx context.Context, cluster types.NamespacedName) (ctrlclient.Client, error) {
	s := &corev1.Secret{}
	if err := e.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Name + "-kubeconfig"}, s); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(s.Data["value"])
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 5 * time.Second
	return ctrlclient.New(cfg, ctrlclient.Options{})
}
