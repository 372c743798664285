package topologypatch

import (
	"encoding/json"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"sigs.k8s.io/cluster-api/exp/topology/scope"

	"github.com/capi-planner/capi-planner/internal/fielddiff"
)

// Change is what ClusterClass patches change for one object's Machines between
// two desired states: the differences, named as fielddiff names them, and JSON
// merge patches (RFC 7386) that carry the change onto the live objects (nil
// when the object does not change).
type Change struct {
	Differences []string
	// KubeadmConfigSpec patches the KubeadmControlPlane's spec.kubeadmConfigSpec.
	KubeadmConfigSpec []byte
	// Bootstrap patches the MachineDeployment's bootstrap template's spec.template.spec.
	Bootstrap []byte
	// Infrastructure patches the InfraMachineTemplate's spec.template.spec; the
	// topology controller rotates the template (a new one, with a new name).
	Infrastructure []byte
}

var templateSpec = []string{"spec", "template", "spec"}

// ControlPlaneChange is what changes for the control plane's Machines from
// before to after: the KubeadmConfig (KubeadmControlPlane spec.kubeadmConfigSpec)
// and the InfraMachine (the control plane's InfraMachineTemplate). Other
// providers' control planes report only their InfraMachineTemplate.
func ControlPlaneChange(before, after *scope.ClusterState) (Change, error) {
	var c Change
	var err error
	if before.ControlPlane.Object.GetKind() == "KubeadmControlPlane" {
		if c.KubeadmConfigSpec, err = c.add(before.ControlPlane.Object, after.ControlPlane.Object, []string{"spec", "kubeadmConfigSpec"}, fielddiff.BootstrapConfig("KubeadmConfig")+".spec"); err != nil {
			return c, err
		}
	}
	c.Infrastructure, err = c.add(before.ControlPlane.InfrastructureMachineTemplate, after.ControlPlane.InfrastructureMachineTemplate, templateSpec, fielddiff.InfrastructureMachine+".spec")
	return c, err
}

// MachineDeploymentChange is what changes for a MachineDeployment's Machines
// (by topology name) from before to after: its bootstrap and infrastructure templates.
func MachineDeploymentChange(before, after *scope.ClusterState, topologyName string) (Change, error) {
	var c Change
	b, a := before.MachineDeployments[topologyName], after.MachineDeployments[topologyName]
	if b == nil || a == nil {
		return c, nil
	}
	var err error
	if c.Bootstrap, err = c.add(b.BootstrapTemplate, a.BootstrapTemplate, templateSpec, fielddiff.BootstrapConfig(b.BootstrapTemplate.GetKind())+".spec"); err != nil {
		return c, err
	}
	c.Infrastructure, err = c.add(b.InfrastructureMachineTemplate, a.InfrastructureMachineTemplate, templateSpec, fielddiff.InfrastructureMachine+".spec")
	return c, err
}

// add records the differences at path between two objects under name, and
// returns the merge patch from one to the other (nil when equal).
func (c *Change) add(before, after *unstructured.Unstructured, path []string, name string) ([]byte, error) {
	if before == nil || after == nil {
		return nil, nil
	}
	b, _, _ := unstructured.NestedFieldNoCopy(before.Object, path...)
	a, _, _ := unstructured.NestedFieldNoCopy(after.Object, path...)
	diffs := fielddiff.Paths(b, a, name)
	if len(diffs) == 0 {
		return nil, nil
	}
	c.Differences = append(c.Differences, diffs...)
	return mergePatch(b, a)
}

func mergePatch(before, after any) ([]byte, error) {
	b, err := json.Marshal(orEmpty(before))
	if err != nil {
		return nil, err
	}
	a, err := json.Marshal(orEmpty(after))
	if err != nil {
		return nil, err
	}
	return jsonpatch.CreateMergePatch(b, a)
}

func orEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}
