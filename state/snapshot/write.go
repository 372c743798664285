package snapshot

import (
	"bytes"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/capi-planner/capi-planner/internal/safefile"
	"github.com/capi-planner/capi-planner/internal/scheme"
	"github.com/capi-planner/capi-planner/state"
)

// Objects returns every object of a state that an API server holds, in a stable
// order (kind by kind). The ManagementCluster record, which no API server
// serves, is not one of them: Write adds it.
func Objects(st *state.State) []runtime.Object {
	var out []runtime.Object
	add := func(n int, get func(int) runtime.Object) {
		for i := range n {
			out = append(out, get(i))
		}
	}
	add(len(st.Namespaces), func(i int) runtime.Object { return st.Namespaces[i] })
	add(len(st.Providers), func(i int) runtime.Object { return st.Providers[i] })
	add(len(st.Controllers), func(i int) runtime.Object { return st.Controllers[i] })
	add(len(st.CRDs), func(i int) runtime.Object { return st.CRDs[i] })
	add(len(st.ClusterRoles), func(i int) runtime.Object { return st.ClusterRoles[i] })
	add(len(st.ClusterRoleBindings), func(i int) runtime.Object { return st.ClusterRoleBindings[i] })
	add(len(st.ExtensionConfigs), func(i int) runtime.Object { return st.ExtensionConfigs[i] })
	add(len(st.ClusterClasses), func(i int) runtime.Object { return st.ClusterClasses[i] })
	add(len(st.Templates), func(i int) runtime.Object { return st.Templates[i] })
	add(len(st.Clusters), func(i int) runtime.Object { return st.Clusters[i] })
	add(len(st.ControlPlanes), func(i int) runtime.Object { return st.ControlPlanes[i] })
	add(len(st.MachineDeployments), func(i int) runtime.Object { return st.MachineDeployments[i] })
	add(len(st.MachineSets), func(i int) runtime.Object { return st.MachineSets[i] })
	add(len(st.MachinePools), func(i int) runtime.Object { return st.MachinePools[i] })
	add(len(st.MachineHealthChecks), func(i int) runtime.Object { return st.MachineHealthChecks[i] })
	add(len(st.Machines), func(i int) runtime.Object { return st.Machines[i] })
	return out
}

// Write writes a state as a multi-document YAML stream that Read accepts: the
// ManagementCluster record first, when the management cluster's Kubernetes
// version is known, then Objects. The state never holds Secrets; controller
// Deployments are reduced to their images and arguments when they are read.
func Write(w io.Writer, st *state.State, header string) error {
	objs := Objects(st)
	if st.Management != nil {
		m := state.NewManagementCluster(st.Management.KubernetesVersion)
		if st.Management.Name != "" {
			m.Name = st.Management.Name
		}
		objs = append([]runtime.Object{m}, objs...)
	}
	return WriteObjects(w, objs, header)
}

// WriteObjects writes objects as a multi-document YAML stream, each with its
// apiVersion and kind, without managedFields.
func WriteObjects(w io.Writer, objs []runtime.Object, header string) error {
	s := scheme.New()
	var buf bytes.Buffer
	if header != "" {
		buf.WriteString("# " + header + "\n")
	}
	for _, o := range objs {
		if o.GetObjectKind().GroupVersionKind().Empty() {
			gvks, _, err := s.ObjectKinds(o)
			if err != nil {
				return err
			}
			o = o.DeepCopyObject()
			o.GetObjectKind().SetGroupVersionKind(gvks[0])
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return err
		}
		if md, ok := m["metadata"].(map[string]any); ok {
			delete(md, "managedFields")
		}
		data, err := yaml.Marshal(m)
		if err != nil {
			return err
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteFile writes the state to path atomically (see safefile.WriteFile).
func WriteFile(path string, st *state.State, header string) error {
	return safefile.WriteFile(path, "-o", func(w io.Writer) error { return Write(w, st, header) })
}
