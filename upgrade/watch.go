package upgrade

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capi-planner/capi-planner/planner"
)

// watcher follows one Cluster's objects with watches (informers): the
// Cluster, its control plane, MachineDeployments, MachineSets, MachinePools
// and Machines. The API requests it makes do not grow with time: a list and a
// watch per kind, again only when a watch breaks.
type watcher struct {
	cache   cache.Cache
	cluster planner.ObjectRef
	cpGVK   schema.GroupVersionKind
	cpName  string
	// changed is signalled (without blocking) on every event.
	changed chan struct{}
}

// view is the Cluster's objects at one moment, read from the watches.
type view struct {
	cluster      *clusterv1.Cluster
	controlPlane *unstructured.Unstructured
	mds          []clusterv1.MachineDeployment
	machineSets  []clusterv1.MachineSet
	mps          []clusterv1.MachinePool
	machines     []clusterv1.Machine
}

// startWatch starts the watches and waits until they have listed every object.
// Machine events also go to onMachine.
func startWatch(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, mapper meta.RESTMapper, cluster planner.ObjectRef, cpGVK schema.GroupVersionKind, cpName string, onMachine toolscache.ResourceEventHandler) (*watcher, error) {
	// --request-timeout bounds each request; a watch is one long request, which
	// that timeout would end (and reopen) every 30 seconds.
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 0
	byCluster := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{clusterv1.ClusterNameLabel: cluster.Name})}
	cp := &unstructured.Unstructured{}
	cp.SetGroupVersionKind(cpGVK)
	c, err := cache.New(cfg, cache.Options{Scheme: scheme, Mapper: mapper,
		DefaultNamespaces: map[string]cache.Config{cluster.Namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&clusterv1.Cluster{}:           {Field: fields.OneTermEqualSelector("metadata.name", cluster.Name)},
			cp:                             {Field: fields.OneTermEqualSelector("metadata.name", cpName)},
			&clusterv1.MachineDeployment{}: byCluster,
			&clusterv1.MachineSet{}:        byCluster,
			&clusterv1.MachinePool{}:       byCluster,
			&clusterv1.Machine{}:           byCluster,
		}})
	if err != nil {
		return nil, fmt.Errorf("watching Cluster %s/%s: %w", cluster.Namespace, cluster.Name, err)
	}
	w := &watcher{cache: c, cluster: cluster, cpGVK: cpGVK, cpName: cpName, changed: make(chan struct{}, 1)}
	signal := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.signal() },
		UpdateFunc: func(any, any) { w.signal() },
		DeleteFunc: func(any) { w.signal() },
	}
	for _, obj := range []client.Object{&clusterv1.Cluster{}, cp, &clusterv1.MachineDeployment{}, &clusterv1.MachineSet{}, &clusterv1.MachinePool{}, &clusterv1.Machine{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("watching %T: %w", obj, err)
		}
		if _, ok := obj.(*clusterv1.Machine); ok && onMachine != nil {
			if _, err := inf.AddEventHandler(onMachine); err != nil {
				return nil, err
			}
		}
		if _, err := inf.AddEventHandler(signal); err != nil {
			return nil, err
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("watching Cluster %s/%s: the watches did not start", cluster.Namespace, cluster.Name)
	}
	return w, nil
}

func (w *watcher) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// read returns the objects as the watches last saw them.
func (w *watcher) read(ctx context.Context) (*view, error) {
	v := &view{cluster: &clusterv1.Cluster{}}
	ns := client.InNamespace(w.cluster.Namespace)
	if err := w.cache.Get(ctx, client.ObjectKey{Namespace: w.cluster.Namespace, Name: w.cluster.Name}, v.cluster); err != nil {
		return nil, fmt.Errorf("reading Cluster %s/%s: %w", w.cluster.Namespace, w.cluster.Name, err)
	}
	cp := &unstructured.Unstructured{}
	cp.SetGroupVersionKind(w.cpGVK)
	if err := w.cache.Get(ctx, client.ObjectKey{Namespace: w.cluster.Namespace, Name: w.cpName}, cp); err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", w.cpGVK.Kind, w.cluster.Namespace, w.cpName, err)
	}
	v.controlPlane = cp
	mds := &clusterv1.MachineDeploymentList{}
	mss := &clusterv1.MachineSetList{}
	mps := &clusterv1.MachinePoolList{}
	ms := &clusterv1.MachineList{}
	for _, l := range []client.ObjectList{mds, mss, mps, ms} {
		if err := w.cache.List(ctx, l, ns); err != nil {
			return nil, err
		}
	}
	v.mds, v.machineSets, v.mps, v.machines = mds.Items, mss.Items, mps.Items, ms.Items
	return v, nil
}
