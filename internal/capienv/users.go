package capienv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// UserKubeconfig creates a user bound to exactly the given ClusterRoles (each
// created under the name user-<role>) and returns the path of its kubeconfig,
// to run capi-planner with the least it needs.
func (e *Env) UserKubeconfig(ctx context.Context, user string, roles ...*rbacv1.ClusterRole) (string, error) {
	u, err := e.api.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return "", err
	}
	for _, role := range roles {
		role = role.DeepCopy()
		role.Name = user + "-" + role.Name
		role.ResourceVersion = ""
		if err := e.Client.Create(ctx, role); err != nil {
			return "", fmt.Errorf("creating ClusterRole %s: %w", role.Name, err)
		}
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: role.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: user, APIGroup: rbacv1.GroupName}},
		}
		if err := e.Client.Create(ctx, binding); err != nil {
			return "", fmt.Errorf("creating ClusterRoleBinding %s: %w", binding.Name, err)
		}
	}
	data, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(e.Dir, "kubeconfig-"+user)
	return path, os.WriteFile(path, data, 0o600)
}
