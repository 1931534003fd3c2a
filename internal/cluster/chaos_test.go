package cluster

import (
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Chaos: 20 random kills (-9 and SIGTERM) and restarts of nodes while
// 12 streams run, then every stream runs once, nothing ran twice, every
// event is in JetStream once, and the node that lived through it all has
// no goroutine or frame left over once its streams are gone.
//
// The 20 actions take about a minute here; VIDFLOW_CHAOS_DURATION=5m
// spreads them over five minutes (the run), VIDFLOW_CHAOS_SEED
// replays a run.
func TestClusterChaos(t *testing.T) {
	skipShort(t)
	span := 60 * time.Second
	if d, err := time.ParseDuration(os.Getenv("VIDFLOW_CHAOS_DURATION")); err == nil && d > 0 {
		span = d
	}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("VIDFLOW_CHAOS_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("chaos: seed %d (VIDFLOW_CHAOS_SEED replays it), 20 actions over %v", seed, span)
	rng := rand.New(rand.NewPCG(seed, 0))

	c := newCluster(t, 8, 6, 6)
	keeper := c.nodes[0] // never killed: the leak check's node
	base, err := metrics(keeper)
	if err != nil {
		t.Fatal(err)
	}
	c.monitor()
	var all []string
	for i := 0; i < 12; i++ {
		all = append(all, camID(i))
		c.add(c.nodes[i%3], camID(i), uri(i+1))
	}
	c.settled(60*time.Second, all, "12 streams placed")

	const actions = 20
	gap := span / actions
	for i := 0; i < actions; i++ {
		time.Sleep(gap/2 + time.Duration(rng.Int64N(int64(gap))))
		n := c.nodes[1+rng.IntN(len(c.nodes)-1)]
		switch {
		case !n.running():
			c.restart(n)
			t.Logf("chaos %2d: restarted %s", i+1, n.id)
		case rng.IntN(3) == 0:
			n.stop(t, syscall.SIGTERM, 40*time.Second)
			t.Logf("chaos %2d: SIGTERM %s", i+1, n.id)
		default:
			n.stop(t, syscall.SIGKILL, 10*time.Second)
			t.Logf("chaos %2d: kill -9 %s", i+1, n.id)
		}
	}
	for _, n := range c.nodes {
		if !n.running() {
			c.restart(n)
		}
	}
	p := c.settled(60*time.Second, all, "every stream running once after the chaos")
	members := []Member{{ID: "node-a", Capacity: 8}, {ID: "node-b", Capacity: 6}, {ID: "node-c", Capacity: 6}}
	checkSpread(t, p, map[string]int{"node-a": 8, "node-b": 6, "node-c": 6}, members, all, Place(all, members, p))
	time.Sleep(time.Second)
	c.stopMonitor()
	c.noDoubles("chaos")
	made, stored := c.checkEvents()
	t.Logf("events: %d made by the nodes, %d distinct ids in JetStream", made, stored)

	// Every stream removed: the node that lived through it all is back
	// where it started.
	for i, id := range all {
		if code, err := call("POST", c.nodes[1].url("/api/v1/stream/remove"), sensor(id, uri(i+1), "camera_remove"), nil); code != 200 || err != nil {
			t.Errorf("stream/remove %s: HTTP %d %v", id, code, err)
		}
	}
	c.settled(30*time.Second, nil, "every stream stopped")
	var m *nodeMetrics
	deadline := time.Now().Add(20 * time.Second)
	for {
		m, err = metrics(keeper)
		if err == nil && m.Process.LiveFrames == 0 && m.Process.LiveBuffers == 0 && m.Process.Goroutines <= base.Process.Goroutines+10 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s after the chaos, no streams: %+v; before any stream: %+v", keeper.id, m.Process, base.Process)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%s: goroutines %d before any stream, %d after the chaos with none; live frames %d, buffers %d",
		keeper.id, base.Process.Goroutines, m.Process.Goroutines, m.Process.LiveFrames, m.Process.LiveBuffers)
}
