package planner

import (
	"context"
	"fmt"
	"strings"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	coreadmission "sigs.k8s.io/cluster-api/core/webhooks/admission"
)

// variablesRejections runs CAPI's own variable defaulting and validation, as
// its Cluster defaulting webhook runs it on every change of a topology Cluster
// (core/webhooks/admission/cluster.go Default → DefaultAndValidateVariables),
// against the definitions in the ClusterClass status. A ClusterClass changed
// after the Cluster was made (a variable now required, a stricter schema) can
// leave the Cluster with variables CAPI refuses: then every write to it, the
// spec.topology.version one included, is refused. The Cluster is both the old
// and the new object, as for a write that changes only its version.
func variablesRejections(ctx context.Context, c *clusterv1.Cluster, cc *clusterv1.ClusterClass) []Rejection {
	errs := (&coreadmission.Cluster{}).DefaultAndValidateVariables(ctx, c.DeepCopy(), c, cc)
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return []Rejection{{Rule: RuleVariablesInvalid, Message: fmt.Sprintf("Cluster %s/%s: its variables do not pass ClusterClass %s/%s as it is now (%s); CAPI's Cluster webhook refuses every change of the Cluster, the spec.topology.version write included: set the variables as the ClusterClass defines them in status.variables, then plan again",
		c.Namespace, c.Name, cc.Namespace, cc.Name, strings.Join(msgs, "; "))}}
}
