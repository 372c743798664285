package planner

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capi-planner/capi-planner/state"
)

// exemptSubject is a subject, by kind and name, not reported, and why.
type exemptSubject struct {
	subject rbacv1.Subject
	why     string
}

// nodesProxyExempt are the subjects that need the kubelet's API, and why they
// are not reported (docs/findings.md lists them from here).
var nodesProxyExempt = []exemptSubject{
	{rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:masters"}, "authorized before RBAC is consulted, so no binding grants or takes it away"},
	{rbacv1.Subject{Kind: rbacv1.UserKind, Name: "kube-apiserver-kubelet-client"}, "the API server's client to the kubelets with kubeadm and kind: it serves logs, exec and port-forward"},
}

// bootstrapLabel marks the RBAC objects of Kubernetes' bootstrap policy, which
// the API server restores at every start. Their kube-system ServiceAccounts are
// kube-controller-manager's controllers: the garbage collector's and the namespace
// controller's roles allow get on every resource, the storage version migrator's
// create; they are not reported.
const bootstrapLabel = "kubernetes.io/bootstrapping"

// bootstrapController reports whether a subject of a binding is one of
// kube-controller-manager's controllers, bound by the bootstrap policy.
func bootstrapController(b *rbacv1.ClusterRoleBinding, s rbacv1.Subject) bool {
	return b.Labels[bootstrapLabel] == "rbac-defaults" && s.Kind == rbacv1.ServiceAccountKind && s.Namespace == metav1.NamespaceSystem
}

// nodesProxyExemptions describes what is not reported.
func nodesProxyExemptions() string {
	parts := make([]string, len(nodesProxyExempt), len(nodesProxyExempt)+1)
	for i, e := range nodesProxyExempt {
		parts[i] = fmt.Sprintf("%s %s (%s)", e.subject.Kind, e.subject.Name, e.why)
	}
	parts = append(parts, "kube-system ServiceAccounts bound by ClusterRoleBindings labelled "+bootstrapLabel+"=rbac-defaults (kube-controller-manager's controllers, such as the garbage collector, whose bootstrap roles cover every resource; the API server restores them at each start)")
	return strings.Join(parts, "; ")
}

// broadGroups are groups that hold more than one identity by design.
var broadGroups = map[string]string{
	"system:authenticated":   "every authenticated user and ServiceAccount",
	"system:unauthenticated": "every anonymous request",
	"system:serviceaccounts": "every ServiceAccount",
}

// nodesProxyGrant returns the rule of a ClusterRole that allows get on the
// kubelets' nodes/proxy, as RBAC matches it (verb get, create or *; group "" or
// *; resource nodes/proxy, */proxy or *), described; "" when none does.
// "nodes/*" is no wildcard to RBAC: it matches only a subresource named "*".
func nodesProxyGrant(rules []rbacv1.PolicyRule) string {
	for _, r := range rules {
		verb := slices.ContainsFunc(r.Verbs, func(v string) bool { return v == "get" || v == "create" || v == rbacv1.VerbAll })
		group := slices.ContainsFunc(r.APIGroups, func(g string) bool { return g == "" || g == rbacv1.APIGroupAll })
		resource := slices.ContainsFunc(r.Resources, func(res string) bool {
			return res == "nodes/proxy" || res == "*/proxy" || res == rbacv1.ResourceAll
		})
		if !verb || !group || !resource {
			continue
		}
		grant := strings.Join(r.Verbs, ",") + " on " + strings.Join(r.Resources, ",")
		if len(r.ResourceNames) > 0 {
			grant += " of the nodes " + strings.Join(r.ResourceNames, ", ") + " only"
		}
		return grant
	}
	return ""
}

// nodesProxyFindings lists, one finding each, the subjects that ClusterRoleBindings
// allow to get nodes/proxy in the management cluster, but those in nodesProxyExempt.
// Nothing is reported when no ClusterRoleBinding was read.
func nodesProxyFindings(st *state.State) []Finding {
	roles := make(map[string]*rbacv1.ClusterRole, len(st.ClusterRoles))
	for _, r := range st.ClusterRoles {
		roles[r.Name] = r
	}
	type exposure struct {
		subject  rbacv1.Subject
		through  []string
		bindings []ObjectRef
	}
	var exposed []*exposure
	for _, b := range st.ClusterRoleBindings {
		role := roles[b.RoleRef.Name]
		if b.RoleRef.Kind != "ClusterRole" || role == nil {
			continue
		}
		grant := nodesProxyGrant(role.Rules)
		if grant == "" {
			continue
		}
		for _, s := range b.Subjects {
			key := rbacv1.Subject{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name}
			if bootstrapController(b, s) || slices.ContainsFunc(nodesProxyExempt, func(x exemptSubject) bool { return x.subject.Kind == key.Kind && x.subject.Name == key.Name }) {
				continue
			}
			i := slices.IndexFunc(exposed, func(e *exposure) bool { return e.subject == key })
			if i < 0 {
				exposed = append(exposed, &exposure{subject: key})
				i = len(exposed) - 1
			}
			e := exposed[i]
			e.through = append(e.through, fmt.Sprintf("ClusterRoleBinding %s to ClusterRole %s (%s)", b.Name, role.Name, grant))
			e.bindings = append(e.bindings, ObjectRef{Kind: "ClusterRoleBinding", Name: b.Name})
		}
	}
	out := make([]Finding, 0, len(exposed))
	for _, e := range exposed {
		who := e.subject.Kind + " " + e.subject.Name
		subject := ObjectRef{Kind: e.subject.Kind, Name: e.subject.Name}
		switch {
		case e.subject.Kind == rbacv1.ServiceAccountKind:
			who = "ServiceAccount " + e.subject.Namespace + "/" + e.subject.Name
			subject.Namespace = e.subject.Namespace
		case e.subject.Kind == rbacv1.GroupKind && broadGroups[e.subject.Name] != "":
			who += " (" + broadGroups[e.subject.Name] + ")"
		case e.subject.Kind == rbacv1.GroupKind && strings.HasPrefix(e.subject.Name, "system:serviceaccounts:"):
			who += " (every ServiceAccount of namespace " + strings.TrimPrefix(e.subject.Name, "system:serviceaccounts:") + ")"
		}
		out = append(out, Finding{Rule: RuleNodesProxyExposure, Objects: append([]ObjectRef{subject}, e.bindings...),
			Message: fmt.Sprintf("%s may call the kubelets' API (nodes/proxy) in the management cluster, through %s: with it, it can run commands in any container on the nodes it reaches, through the kubelet's API, the CAPI controllers' included, whose credentials reach every workload cluster",
				who, strings.Join(e.through, "; "))})
	}
	return out
}
