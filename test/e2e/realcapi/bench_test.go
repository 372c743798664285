package realcapi

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/capi-planner/capi-planner/internal/testutil/faultproxy"
	"github.com/capi-planner/capi-planner/planner"
	"github.com/capi-planner/capi-planner/upgrade"
)

// Targets of apply's benchmark (issue: apply follows with watches, not polling).
const (
	// detectTarget: apply says a step is done within this long of the moment an
	// independent observer sees its objects at rest.
	detectTarget = 2 * time.Second
	// floorTarget: apply's requests per minute while it waits, over its Lease
	// renewals per minute. Watches keep it about 1 however long the wait;
	// polling even one object a second would make it 10 or more.
	floorTarget = 1.5
	// benchLease is apply's --lease-duration: it renews every third of it,
	// which is the floor of the requests it makes while waiting.
	benchLease = 30 * time.Second
)

// BenchmarkApplyFollow applies a chained topology upgrade (v1.33.4 -> v1.35.2,
// one control plane Machine and one worker, every Machine replaced) on the
// real controllers, through a proxy that counts apply's requests, with the
// Machines watched by the tests' own observer. It reports:
//   - detect-max-s: the longest time between the observer seeing a step's
//     objects at rest and apply's StepDone (the observer lists every 0.5 s, so
//     this may be short by as much);
//   - req/min and req/min-floor: apply's requests per minute while it waits,
//     and that over its Lease renewals per minute (1 = nothing but renewals);
//     the log also gives each half of the wait.
//
// It fails when a target above is missed. `make bench` runs it once.
func BenchmarkApplyFollow(b *testing.B) {
	for i := range b.N {
		c := smallest()
		c.Patches = false
		s := scenario{cluster: c, to: "v1.35.2"}
		s.ext.RefuseInPlace = true
		b.StopTimer()
		r := s.start(b, fmt.Sprintf("bench-follow-%d", i))
		file, plan := r.savePlan(b, "plan.json")
		b.StartTimer()
		benchFollow(b, r, file, plan)
	}
}

func benchFollow(b *testing.B, r *run, file string, plan *planner.ClusterPlan) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	stop := r.observe(ctx, b, plan)
	proxy, counted := r.proxied(ctx, b, faultproxy.Options{})
	var (
		mu      sync.Mutex
		samples []sample
	)
	sampling, stopSampling := context.WithCancel(ctx)
	go func() {
		for {
			mu.Lock()
			samples = append(samples, sample{time.Now(), proxy.Stats().Requests})
			mu.Unlock()
			select {
			case <-sampling.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	p := r.startApply(b, counted, file, "--yes", "--lease-duration", benchLease.String())
	if code := p.wait(b, 14*time.Minute); code != 0 {
		b.Fatalf("apply: exit %d\n%s", code, p.stderr.String())
	}
	stopSampling()
	// The observer lists every half second: give it the time to see the
	// last step at rest, which apply may have seen first.
	for deadline := time.Now().Add(30 * time.Second); r.obs.atRest(plan.Steps[len(plan.Steps)-1]).IsZero() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	events := p.events(b)

	var waitFrom, waitTo time.Time
	// Apply may see a step at rest before the observer does: the maximum can be negative.
	detectMax := time.Duration(math.MinInt64)
	for _, e := range events {
		switch e.Type {
		case upgrade.EventWrite:
			waitFrom = e.Time
		case upgrade.EventCompleted:
			waitTo = e.Time
		case upgrade.EventStepDone:
			atRest := r.obs.atRest(plan.Steps[e.Step-1])
			if atRest.IsZero() {
				b.Errorf("step %d: the observer never saw it at rest", e.Step)
				continue
			}
			d := e.Time.Sub(atRest)
			b.Logf("step %d: apply said done %s after the observer saw it at rest", e.Step, d.Round(10*time.Millisecond))
			detectMax = max(detectMax, d)
		}
	}
	if waitFrom.IsZero() || waitTo.IsZero() || detectMax == math.MinInt64 {
		b.Fatalf("no write, no end or no step done in the events: %+v", events)
	}
	mu.Lock()
	defer mu.Unlock()
	mid := waitFrom.Add(waitTo.Sub(waitFrom) / 2)
	first, second := rate(samples, waitFrom, mid), rate(samples, mid, waitTo)
	whole := rate(samples, waitFrom, waitTo)
	floor := float64(time.Minute) / float64(benchLease/3)
	b.Logf("waiting %s: %.1f requests a minute (first half %.1f, second half %.1f); Lease renewals alone: %.1f a minute",
		waitTo.Sub(waitFrom).Round(time.Second), whole, first, second, floor)
	b.ReportMetric(detectMax.Seconds(), "detect-max-s")
	b.ReportMetric(whole, "req/min")
	b.ReportMetric(whole/floor, "req/min-floor")
	b.Logf("step done at most %s after the observer saw it at rest (target: at most %s); %.2fx the Lease renewals (target: at most %.1fx)",
		detectMax.Round(10*time.Millisecond), detectTarget, whole/floor, floorTarget)
	if detectMax > detectTarget {
		b.Errorf("a step was reported done %s after it was: the target is %s", detectMax.Round(10*time.Millisecond), detectTarget)
	}
	if whole/floor > floorTarget {
		b.Errorf("%.1f requests a minute while waiting, %.2fx the Lease renewals: the target is at most %.1fx", whole, whole/floor, floorTarget)
	}
}

// sample is the proxy's request count at a time.
type sample struct {
	at       time.Time
	requests int
}

// rate is the requests per minute between from and to, from the first
// samples at or after them (a sample before from could count the requests
// that led up to it).
func rate(samples []sample, from, to time.Time) float64 {
	at := func(t time.Time) sample {
		for _, s := range samples {
			if !s.at.Before(t) {
				return s
			}
		}
		return samples[len(samples)-1]
	}
	a, z := at(from), at(to)
	if !z.at.After(a.at) {
		return 0
	}
	return float64(z.requests-a.requests) / z.at.Sub(a.at).Minutes()
}
