package plan

import (
	"errors"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/capi-planner/capi-planner/planner"
)

func TestExplainFlags(t *testing.T) {
	web := types.NamespacedName{Namespace: "prod", Name: "web"}
	other := errors.New("something else")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&planner.InvalidTargetError{Value: "v1"}, `invalid --to "v1": expected an exact Kubernetes version (v1.36.3), a minor (v1.36) or "latest"`},
		{&planner.ClusterNotFoundError{Cluster: &web, Have: []string{"a/b", "c/d"}}, "cluster prod/web not found in the input; it holds a/b, c/d: check --cluster NAMESPACE/NAME"},
		{&planner.ClusterNotFoundError{Namespace: "x", Have: []string{"a/b"}}, `no Cluster in namespace "x"; the input holds a/b: check -n`},
		{&EmptyLiveError{Host: "https://h:6443", Namespace: "prod", Selector: "env=x"}, "the management cluster at https://h:6443 holds no Cluster in namespace prod matching -l env=x: check --context, -n (or -A for every namespace) and -l"},
		{&EmptyLiveError{Host: "https://h:6443"}, "the management cluster at https://h:6443 holds no Cluster in any namespace: check --context, -n (or -A for every namespace) and -l"},
		{planner.ErrNoClusters, "no Cluster objects found in the input: pass the files or directories of a management cluster snapshot with -f"},
		{fmt.Errorf("reading: %w", planner.ErrNoClusters), "reading: no Cluster objects found in the input: pass the files or directories of a management cluster snapshot with -f"},
		{other, "something else"},
	} {
		if got := ExplainFlags(tc.err); got.Error() != tc.want {
			t.Errorf("ExplainFlags(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
