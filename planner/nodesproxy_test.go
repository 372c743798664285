package planner

import (
	"fmt"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/capi-planner/capi-planner/internal/fleet"
)

func TestNodesProxyFindings(t *testing.T) {
	role, rule, binding := fleet.ClusterRole, fleet.Rule, fleet.ClusterRoleBinding
	sa, user, group := fleet.ServiceAccount, fleet.User, fleet.Group
	bootstrap := func(b *rbacv1.ClusterRoleBinding) *rbacv1.ClusterRoleBinding {
		b.Labels = map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}
		return b
	}
	get, all, core := []string{"get", "list", "watch"}, []string{"*"}, []string{""}
	tests := []struct {
		name string
		objs fleet.Objects
		want []string // objects: message fragment
	}{
		{"nothing read", nil, nil},
		{"get on nodes/proxy", fleet.Objects{role("prometheus", rule(get, core, []string{"nodes", "nodes/proxy"})), binding("prometheus", "prometheus", sa("monitoring", "prometheus"))},
			[]string{"ServiceAccount monitoring/prometheus ClusterRoleBinding /prometheus: ServiceAccount monitoring/prometheus may call the kubelets' API (nodes/proxy) in the management cluster, through ClusterRoleBinding prometheus to ClusterRole prometheus (get,list,watch on nodes,nodes/proxy)"}},
		{"a wildcard resource and group, and */proxy, by a user and a group",
			fleet.Objects{role("ops", rule(all, all, all)), role("debug", rule([]string{"create"}, core, []string{"*/proxy"}, "node-1")),
				binding("ops", "ops", user("alice"), group("system:serviceaccounts:ci")), binding("debug", "debug", group("system:authenticated"))},
			[]string{"Group /system:authenticated ClusterRoleBinding /debug: Group system:authenticated (every authenticated user and ServiceAccount) may call the kubelets' API (nodes/proxy) in the management cluster, through ClusterRoleBinding debug to ClusterRole debug (create on */proxy of the nodes node-1 only)",
				"User /alice ClusterRoleBinding /ops: User alice may call the kubelets' API (nodes/proxy)",
				"Group /system:serviceaccounts:ci ClusterRoleBinding /ops: Group system:serviceaccounts:ci (every ServiceAccount of namespace ci) may"}},
		{"one subject through two bindings", fleet.Objects{role("a", rule(get, core, []string{"nodes/proxy"})), binding("a1", "a", sa("x", "y")), binding("a2", "a", sa("x", "y"))},
			[]string{"ServiceAccount x/y ClusterRoleBinding /a1 ClusterRoleBinding /a2: through ClusterRoleBinding a1 to ClusterRole a (get,list,watch on nodes/proxy); ClusterRoleBinding a2"}},
		{"the exempt: system:masters and the API server's kubelet client",
			fleet.Objects{role("cluster-admin", rule(all, all, all)), binding("cluster-admin", "cluster-admin", group("system:masters")),
				role("system:kubelet-api-admin", rule(all, core, []string{"nodes/proxy", "nodes/metrics"})),
				binding("kubeadm:apiserver-kubelet-client", "system:kubelet-api-admin", user("kube-apiserver-kubelet-client"))}, nil},
		{"kube-controller-manager's controllers, bound by the bootstrap policy, but not a ServiceAccount added elsewhere to such a binding",
			fleet.Objects{role("system:controller:generic-garbage-collector", rule([]string{"get", "list", "watch", "patch", "update", "delete"}, all, all)),
				bootstrap(binding("system:controller:generic-garbage-collector", "system:controller:generic-garbage-collector", sa("kube-system", "generic-garbage-collector"), sa("tools", "cleaner"))),
				binding("gc-copy", "system:controller:generic-garbage-collector", sa("kube-system", "generic-garbage-collector"))},
			[]string{"ServiceAccount kube-system/generic-garbage-collector ClusterRoleBinding /gc-copy: through ClusterRoleBinding gc-copy",
				"ServiceAccount tools/cleaner ClusterRoleBinding /system:controller:generic-garbage-collector: ServiceAccount tools/cleaner may"}},
		{"not granting: nodes/* is no wildcard, other verbs, groups and resources", fleet.Objects{
			role("r", rule(get, core, []string{"nodes/*"}), rule([]string{"list", "watch", "proxy"}, core, []string{"nodes/proxy"}),
				rule(get, []string{"apps"}, []string{"*"}), rule(get, core, []string{"nodes", "nodes/metrics", "nodes/stats", "*/status"})),
			binding("r", "r", sa("monitoring", "node-exporter"))}, nil},
		{"a binding to a ClusterRole not read, and a ClusterRole no one is bound to",
			fleet.Objects{binding("ghost", "missing", user("bob")), role("unbound", rule(all, all, all))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range nodesProxyFindings(buildState(t, tt.objs)) {
				if f.Rule != RuleNodesProxyExposure {
					t.Fatalf("%+v", f)
				}
				var objs []string
				for _, o := range f.Objects {
					objs = append(objs, o.Kind+" "+o.Namespace+"/"+o.Name)
				}
				got = append(got, fmt.Sprintf("%s: %s", strings.Join(objs, " "), f.Message))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				prefix, frag, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], prefix+":") || !strings.Contains(got[i], frag) {
					t.Errorf("finding %d:\n got  %s\n want %s", i, got[i], w)
				}
			}
		})
	}
}
