// Package upgrade applies a saved plan to one Cluster: it takes the Cluster's
// lock, checks that the cluster is still the one that was planned, makes the
// writes that trigger each step (exactly those of the plan, each with a
// precondition), and follows every step with watches until the controllers
// have finished it, comparing what happened with the prediction.
//
// Like kind's cluster creation, a run is a sequence of named actions, each in
// its own file: lock.go, preflight.go, writes.go, watch.go, done.go,
// track.go, stall.go; apply.go runs them. Everything it knows about a run in
// progress is kept in the cluster (on the Lease), never in local files, so a
// rerun after Ctrl-C or kill -9 continues where the last one stopped.
//
// It talks to the cluster only through the clients in Options, and reports
// through an EventSink: rendering is the caller's.
package upgrade
