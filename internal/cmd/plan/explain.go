package plan

import (
	"errors"
	"fmt"

	"github.com/capi-planner/capi-planner/planner"
)

// ExplainFlags phrases the planner's errors for a user who gave its inputs
// as plan's flags (plan, and apply --cluster --to): the flag to check.
// (--versions and --versions-file are checked before planning, each with
// its own message.)
func ExplainFlags(err error) error {
	var target *planner.InvalidTargetError
	var notFound *planner.ClusterNotFoundError
	var empty *EmptyLiveError
	switch {
	case errors.As(err, &target):
		return fmt.Errorf(`invalid --to %q: expected an exact Kubernetes version (v1.36.3), a minor (v1.36) or "latest"`, target.Value)
	case errors.As(err, &notFound) && notFound.Cluster != nil:
		return fmt.Errorf("%w: check --cluster NAMESPACE/NAME", err)
	case errors.As(err, &notFound):
		return fmt.Errorf("%w: check -n", err)
	case errors.As(err, &empty):
		return fmt.Errorf("%w: check --context, -n (or -A for every namespace) and -l", err)
	case errors.Is(err, planner.ErrNoClusters):
		return fmt.Errorf("%w: pass the files or directories of a management cluster snapshot with -f", err)
	}
	return err
}

// EmptyLiveError is a live read that found no Cluster.
type EmptyLiveError struct {
	Host string
	// Namespace is the namespace read; "" is every namespace.
	Namespace string
	// Selector is the Clusters' label selector, if any.
	Selector string
}

func (e *EmptyLiveError) Error() string {
	where := "in any namespace"
	if e.Namespace != "" {
		where = "in namespace " + e.Namespace
	}
	if e.Selector != "" {
		where += " matching -l " + e.Selector
	}
	return fmt.Sprintf("the management cluster at %s holds no Cluster %s", e.Host, where)
}
