package upgrade

import (
	"reflect"
	"testing"
	"time"
)

func TestStallWatch(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	reasons := []string{"KubeadmControlPlane cp is at v1.33.4"}
	why := func() []string { return reasons }
	s := stallWatch{after: 5 * time.Second, lastMove: t0}
	pending := []string{"cp not yet v1.34.3"}
	type said struct {
		reasons []string
		say     bool
	}
	step := func(at time.Duration) said {
		r, _, say := s.observe(t0.Add(at), pending, why)
		return said{r, say}
	}
	if got := step(0); got.say {
		t.Fatalf("said a stall at once: %v", got)
	}
	if got := step(4 * time.Second); got.say {
		t.Fatalf("said a stall after 4s of 5: %v", got)
	}
	if got := step(5 * time.Second); !got.say || !reflect.DeepEqual(got.reasons, reasons) {
		t.Fatalf("no stall after 5s: %v", got)
	}
	if got := step(6 * time.Second); got.say {
		t.Fatalf("said the same stall twice: %v", got)
	}
	// The controllers write the cause after the stall began: say it again.
	reasons = []string{"Cluster: Following hooks are blocking upgrade: BeforeClusterUpgrade: waiting"}
	if got := step(7 * time.Second); !got.say || !reflect.DeepEqual(got.reasons, reasons) {
		t.Fatalf("a new reason was not said: %v", got)
	}
	if got := step(8 * time.Second); got.say {
		t.Fatalf("said the new reason twice: %v", got)
	}
	// Something moves: the clock starts again.
	pending = []string{"cp not yet v1.34.3", "md not yet v1.34.3"}
	if got := step(9 * time.Second); got.say {
		t.Fatalf("said a stall right after a move: %v", got)
	}
	if got := step(14 * time.Second); !got.say {
		t.Fatalf("no stall 5s after the move: %v", got)
	}
	off := stallWatch{lastMove: t0}
	if _, _, say := off.observe(t0.Add(time.Hour), pending, why); say {
		t.Fatal("a stall was said with StallAfter 0")
	}
}
