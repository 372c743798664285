package topologypatch

import (
	"context"
	"errors"
	"fmt"
	"maps"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/contract"
)

// errOffline is what crdMetadataReader answers to anything but reading CRD metadata.
var errOffline = errors.New("capi-planner evaluates ClusterClass patches without writing to, or reading more from, the management cluster")

// crdMetadataReader serves the one thing CAPI's patch engine reads through its
// client: the metadata of the control plane's CustomResourceDefinition, whose
// cluster.x-k8s.io/<contract> labels give the contract version
// (internal/contract.GetContractVersionForVersion). It answers from the CRD
// metadata that was read with the state, and knows KubeadmControlPlane's own
// labels, so snapshots without CRDs still evaluate for it.
type crdMetadataReader struct {
	labels map[string]map[string]string // CRD name -> labels
}

func newCRDMetadataReader(crds []*metav1.PartialObjectMetadata) *crdMetadataReader {
	r := &crdMetadataReader{labels: map[string]map[string]string{
		// The labels CAPI's KubeadmControlPlane CRD carries (config/crd/kustomization.yaml).
		contract.CalculateCRDName(controlplanev1.GroupVersion.Group, "KubeadmControlPlane"): {
			clusterv1.GroupVersion.Group + "/v1beta1": "v1beta1",
			clusterv1.GroupVersion.Group + "/v1beta2": "v1beta2",
		},
	}}
	for _, crd := range crds {
		// Added to what is known: a CRD installed without its kustomize labels
		// (as envtest loads them) keeps KubeadmControlPlane's.
		if r.labels[crd.Name] == nil {
			r.labels[crd.Name] = map[string]string{}
		}
		maps.Copy(r.labels[crd.Name], crd.Labels)
	}
	return r
}

var crdResource = apiextensionsv1.Resource("customresourcedefinitions")

func (r *crdMetadataReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok || m.GroupVersionKind().GroupKind() != apiextensionsv1.Kind("CustomResourceDefinition") {
		return fmt.Errorf("reading %T %s: %w", obj, key, errOffline)
	}
	labels, ok := r.labels[key.Name]
	if !ok {
		return apierrors.NewNotFound(crdResource, key.Name)
	}
	m.SetName(key.Name)
	m.SetLabels(labels)
	return nil
}

func (r *crdMetadataReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errOffline
}

func (r *crdMetadataReader) Apply(context.Context, runtime.ApplyConfiguration, ...client.ApplyOption) error {
	return errOffline
}

func (r *crdMetadataReader) Create(context.Context, client.Object, ...client.CreateOption) error {
	return errOffline
}

func (r *crdMetadataReader) Delete(context.Context, client.Object, ...client.DeleteOption) error {
	return errOffline
}

func (r *crdMetadataReader) Update(context.Context, client.Object, ...client.UpdateOption) error {
	return errOffline
}

func (r *crdMetadataReader) Patch(context.Context, client.Object, client.Patch, ...client.PatchOption) error {
	return errOffline
}

func (r *crdMetadataReader) DeleteAllOf(context.Context, client.Object, ...client.DeleteAllOfOption) error {
	return errOffline
}

func (r *crdMetadataReader) Status() client.SubResourceWriter { return refusingSubResource{} }

func (r *crdMetadataReader) SubResource(string) client.SubResourceClient {
	return refusingSubResource{}
}

func (r *crdMetadataReader) Scheme() *runtime.Scheme { return runtime.NewScheme() }

func (r *crdMetadataReader) RESTMapper() meta.RESTMapper { return meta.NewDefaultRESTMapper(nil) }

func (r *crdMetadataReader) GroupVersionKindFor(obj runtime.Object) (schema.GroupVersionKind, error) {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return gvk, nil
	}
	return schema.GroupVersionKind{}, errOffline
}

func (r *crdMetadataReader) IsObjectNamespaced(runtime.Object) (bool, error) {
	return false, errOffline
}

// refusingSubResource refuses every subresource call.
type refusingSubResource struct{}

func (refusingSubResource) Get(context.Context, client.Object, client.Object, ...client.SubResourceGetOption) error {
	return errOffline
}

func (refusingSubResource) Create(context.Context, client.Object, client.Object, ...client.SubResourceCreateOption) error {
	return errOffline
}

func (refusingSubResource) Update(context.Context, client.Object, ...client.SubResourceUpdateOption) error {
	return errOffline
}

func (refusingSubResource) Patch(context.Context, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
	return errOffline
}

func (refusingSubResource) Apply(context.Context, runtime.ApplyConfiguration, ...client.SubResourceApplyOption) error {
	return errOffline
}
