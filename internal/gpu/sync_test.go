package gpu

import (
	"strings"
	"testing"
)

// VIDFLOW_CUDA_SYNC is one of auto, spin, yield, blocking (any case) or
// unset; anything else is an error naming it. The start-up report names
// it when set.
func TestCUDASyncEnv(t *testing.T) {
	for _, c := range []struct {
		v     string
		flags uint
		set   bool
		err   bool
	}{{"", 0, false, false}, {"auto", 0, true, false}, {"spin", 1, true, false}, {"yield", 2, true, false},
		{"Blocking", 4, true, false}, {"sleep", 0, false, true}, {"4", 0, false, true}} {
		t.Setenv(SyncEnv, c.v)
		f, set, err := cudaSync()
		if f != c.flags || set != c.set || (err != nil) != c.err || (err != nil && !strings.Contains(err.Error(), SyncEnv)) {
			t.Errorf("%s=%q: flags %d set %v err %v; want %d %v, error %v", SyncEnv, c.v, f, set, err, c.flags, c.set, c.err)
		}
		if note := syncNote(); (c.v != "") != strings.Contains(note, SyncEnv) {
			t.Errorf("%s=%q: start-up note %q", SyncEnv, c.v, note)
		}
	}
}
