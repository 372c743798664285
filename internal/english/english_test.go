package english

import "testing"

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "Machines"}, {1, "Machine"}, {2, "Machines"}} {
		if got := Plural("Machine", tc.n); got != tc.want {
			t.Errorf("Plural(Machine, %d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := Choose("is", "are", 3); got != "are" {
		t.Errorf("Choose(is, are, 3) = %q", got)
	}
}
