package topologypatch

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/core/reconcilers/topology/cluster/patches/variables"
	"sigs.k8s.io/cluster-api/exp/runtime/topologymutation"
	"sigs.k8s.io/cluster-api/exp/topology/scope"
)

// Shared remembers what the patches make of the control plane across the
// Clusters of one plan. Clusters of a ClusterClass whose inline patches read
// the same variable values at a step get the same KubeadmConfigSpec and
// InfraMachineTemplate spec, so the engine runs once for them: the key holds
// the ClusterClass and the value of every variable its patches read, as CAPI's
// own variables and variable lookup compute them. ClusterClasses whose reads
// cannot be told (external patches; templates using the whole context, with,
// range or template variables) are never shared. Safe for concurrent use.
type Shared struct {
	mu      sync.Mutex
	results map[string]sharedControlPlane
	reads   map[*clusterv1.ClusterClass][]string
}

// NewShared returns an empty Shared.
func NewShared() *Shared {
	return &Shared{results: map[string]sharedControlPlane{}, reads: map[*clusterv1.ClusterClass][]string{}}
}

// variableReads is variableReads(cc), computed once per ClusterClass.
func (s *Shared) variableReads(cc *clusterv1.ClusterClass) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	reads, ok := s.reads[cc]
	if !ok {
		reads = variableReads(cc)
		s.reads[cc] = reads
	}
	return reads
}

// sharedControlPlane is what the patches made of the control plane's specs.
type sharedControlPlane struct {
	kubeadmConfigSpec any // the control plane's spec.kubeadmConfigSpec
	infrastructure    any // its InfraMachineTemplate's spec.template.spec
}

func (s *Shared) get(key string) (sharedControlPlane, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.results[key]
	return r, ok
}

func (s *Shared) put(key string, r sharedControlPlane) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results[key] = r
}

// sharingKey is the key of a control plane evaluation of desired: "" when it
// cannot be shared.
func (e *Evaluator) sharingKey(desired *scope.ClusterState, bp *scope.ClusterBlueprint) (string, error) {
	if e.shared == nil || e.reads == nil {
		return "", nil
	}
	defined := map[string]bool{}
	for _, v := range bp.ClusterClass.Status.Variables {
		defined[v.Name] = true
	}
	global, err := variables.Global(bp.Topology, desired.Cluster, defined)
	if err != nil {
		return "", err
	}
	cp, err := variables.ControlPlane(&bp.Topology.ControlPlane, desired.ControlPlane.Object, desired.ControlPlane.InfrastructureMachineTemplate, defined)
	if err != nil {
		return "", err
	}
	vars, err := topologymutation.MergeVariableMaps(topologymutation.ToMap(global), topologymutation.ToMap(cp))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s", bp.ClusterClass.Namespace, bp.ClusterClass.Name)
	for _, path := range e.reads {
		b.WriteString("\x00" + path + "=")
		if v, err := variables.GetVariableValue(vars, path); err == nil {
			b.Write(v.Raw)
		}
	}
	return b.String(), nil
}

func (r sharedControlPlane) applyTo(desired *scope.ClusterState) error {
	if r.kubeadmConfigSpec != nil {
		if err := unstructured.SetNestedField(desired.ControlPlane.Object.Object, runtime.DeepCopyJSONValue(r.kubeadmConfigSpec), "spec", "kubeadmConfigSpec"); err != nil {
			return err
		}
	}
	if r.infrastructure != nil && desired.ControlPlane.InfrastructureMachineTemplate != nil {
		return unstructured.SetNestedField(desired.ControlPlane.InfrastructureMachineTemplate.Object, runtime.DeepCopyJSONValue(r.infrastructure), templateSpec...)
	}
	return nil
}

func sharedFrom(desired *scope.ClusterState) sharedControlPlane {
	var r sharedControlPlane
	if v, ok, _ := unstructured.NestedFieldCopy(desired.ControlPlane.Object.Object, "spec", "kubeadmConfigSpec"); ok {
		r.kubeadmConfigSpec = v
	}
	if t := desired.ControlPlane.InfrastructureMachineTemplate; t != nil {
		if v, ok, _ := unstructured.NestedFieldCopy(t.Object, templateSpec...); ok {
			r.infrastructure = v
		}
	}
	return r
}

// variableReads lists, sorted, the variable paths a ClusterClass's inline
// patches read (valueFrom.variable, and the fields their templates and
// enabledIf use, such as builtin.controlPlane.version); nil when that cannot be
// told.
func variableReads(cc *clusterv1.ClusterClass) []string {
	reads := map[string]bool{}
	for _, p := range cc.Spec.Patches {
		if p.External != nil || !templateReads(p.EnabledIf, reads) {
			return nil
		}
		for _, d := range p.Definitions {
			for _, jp := range d.JSONPatches {
				if jp.ValueFrom == nil {
					continue
				}
				if jp.ValueFrom.Variable != "" {
					reads[jp.ValueFrom.Variable] = true
				}
				if !templateReads(jp.ValueFrom.Template, reads) {
					return nil
				}
			}
		}
	}
	out := make([]string, 0, len(reads))
	for r := range reads {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// templateReads adds the variable paths a template reads; false when they
// cannot be told. Templates are parsed as CAPI's inline patches parse them.
func templateReads(text string, reads map[string]bool) bool {
	if text == "" {
		return true
	}
	tpl, err := template.New("tpl").Funcs(templateFuncs()).Parse(text)
	if err != nil || tpl.Tree == nil {
		return false
	}
	return nodeReads(tpl.Tree.Root, reads)
}

// templateFuncs are the functions CAPI's inline patch templates have.
var templateFuncs = sync.OnceValue(sprig.HermeticTxtFuncMap)

func nodeReads(node parse.Node, reads map[string]bool) bool {
	switch n := node.(type) {
	case nil:
		return true
	case *parse.ListNode:
		if n == nil {
			return true
		}
		for _, c := range n.Nodes {
			if !nodeReads(c, reads) {
				return false
			}
		}
		return true
	case *parse.ActionNode:
		return nodeReads(n.Pipe, reads)
	case *parse.IfNode:
		return nodeReads(n.Pipe, reads) && nodeReads(n.List, reads) && nodeReads(n.ElseList, reads)
	case *parse.PipeNode:
		if n == nil {
			return true
		}
		if len(n.Decl) > 0 {
			return false // template variables
		}
		for _, c := range n.Cmds {
			if !nodeReads(c, reads) {
				return false
			}
		}
		return true
	case *parse.CommandNode:
		for _, a := range n.Args {
			if !nodeReads(a, reads) {
				return false
			}
		}
		return true
	case *parse.FieldNode:
		reads[strings.Join(n.Ident, ".")] = true
		return true
	case *parse.VariableNode:
		if n.Ident[0] != "$" || len(n.Ident) < 2 {
			return false // the whole context, or a template variable
		}
		reads[strings.Join(n.Ident[1:], ".")] = true
		return true
	case *parse.TextNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode, *parse.IdentifierNode, *parse.CommentNode:
		return true
	default:
		return false // the whole context (.), chains, with, range, template calls
	}
}
