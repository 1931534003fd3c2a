package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"
)

// startupStall is the least time a run may take to its first frame at the
// sink before watch calls it stalled.
const startupStall = 3 * time.Minute

// watch stops a run in which no frame reaches the sink for -stall, after
// printing every element's counts (where the frames stopped); if the
// pipeline does not stop either, the process exits: a bench never hangs.
func (r *runner) watch(done <-chan struct{}, stalled *atomic.Bool) {
	stall := r.b.o.stall
	if stall <= 0 {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, since := int64(-1), time.Now()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		r.sink.mu.Lock()
		n := r.sink.frames
		r.sink.mu.Unlock()
		if n != last {
			last, since = n, time.Now()
			continue
		}
		limit := stall
		if n <= 0 {
			// Start-up: ONNX Runtime's CUDA provider tries cuDNN's
			// algorithms on its first run of each session (seconds to
			// tens of seconds each while decoders load the GPU).
			limit = max(stall, startupStall)
		}
		if time.Since(since) < limit {
			continue
		}
		stalled.Store(true)
		out := r.b.out
		fmt.Fprintf(out, "bench: %s %s x%d: no frame at the sink for %s (%d frames so far); stopping. Elements (buffers in/out, queue, pooled frames held):\n",
			r.scenario, filepath.Base(r.clip), len(r.uris), stall, n)
		for _, st := range r.p.Stats() {
			fmt.Fprintf(out, "    %s (%s) in %d out %d queue %d/%d pooled %d\n", st.Name, st.Kind, st.BuffersIn, st.BuffersOut, st.QueueDepth, st.QueueCap, st.Pools)
		}
		r.dumpGoroutines(out)
		go func() {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				fmt.Fprintln(out, "bench: the stalled pipeline did not stop within 30 s; exiting")
				os.Exit(3)
			}
		}()
		r.p.Stop()
		return
	}
}

// dumpGoroutines writes every goroutine's stack (a goroutine blocked in a
// C call shows the call) where a stalled run can be examined: beside the
// -json file, or into out without one.
func (r *runner) dumpGoroutines(out io.Writer) {
	w, name := out, ""
	if p := r.b.o.jsonPath; p != "" {
		name = strings.TrimSuffix(p, ".json") + fmt.Sprintf("-stall-%s-x%d.txt", r.scenario, len(r.uris))
		f, err := os.Create(name)
		if err != nil {
			fmt.Fprintf(out, "bench: goroutine dump: %v\n", err)
			return
		}
		defer f.Close()
		w = f
	}
	if err := pprof.Lookup("goroutine").WriteTo(w, 2); err != nil {
		fmt.Fprintf(out, "bench: goroutine dump: %v\n", err)
		return
	}
	if name != "" {
		fmt.Fprintf(out, "bench: every goroutine's stack: %s\n", name)
	}
}
