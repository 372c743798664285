package upgrade

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/capi-planner/capi-planner/planner"
)

// What CAPI's Cluster webhook answers to a version write while the previous
// upgrade's AfterClusterUpgrade hook is pending (core/webhooks/admission/cluster.go).
var hookBlocking = apierrors.NewInvalid(schema.GroupKind{Group: "cluster.x-k8s.io", Kind: "Cluster"}, "web", field.ErrorList{
	field.Forbidden(field.NewPath("spec", "topology", "version"), `version cannot be changed when the "AfterClusterUpgrade" hook is still blocking`),
})

func TestAfterClusterUpgradeStillPending(t *testing.T) {
	pending := Gate{Rule: planner.RuleAfterClusterUpgrade, Message: "pending"}
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"no error":                 {nil, false},
		"gate: the hook alone":     {&GateError{Failed: []Gate{pending}}, true},
		"gate: the hook and more":  {&GateError{Failed: []Gate{pending, {Rule: planner.RuleDowngrade}}}, false},
		"gate: another rule":       {&GateError{Failed: []Gate{{Rule: planner.RuleUpgradeInProgress}}}, false},
		"gate: none failed":        {&GateError{}, false},
		"webhook: the hook":        {&RejectedError{Err: hookBlocking}, true},
		"webhook: another refusal": {&RejectedError{Err: apierrors.NewForbidden(schema.GroupResource{Resource: "clusters"}, "web", errors.New("frozen"))}, false},
		"conflict":                 {&ConflictError{}, false},
	} {
		if got := afterClusterUpgradeStillPending(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}
