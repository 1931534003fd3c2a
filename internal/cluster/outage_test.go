package cluster

import (
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// outage is how long the tests keep etcd and NATS away: many lease TTLs,
// so sessions, watches and keep-alives all give up in between.
const outage = 30 * time.Second

// etcd stopped for 30 s: the nodes keep running what they have, refuse
// new placements with a clear 503 and recover when etcd returns. NATS
// stopped for 30 s: no event is lost (the outbox and spool keep them).
func TestClusterOutages(t *testing.T) {
	skipShort(t)
	c := newCluster(t, 4, 4, 4)
	c.monitor()
	var all []string
	for i := 0; i < 6; i++ {
		all = append(all, camID(i))
		c.add(c.nodes[i%3], camID(i), uri(i+1))
	}
	before := c.settled(60*time.Second, all, "6 streams placed")

	// etcd away.
	c.s.etcd.stop(t, syscall.SIGTERM, 10*time.Second)
	t0 := time.Now()
	waitFor(t, 15*time.Second, "every node to see etcd away", func() bool {
		for _, n := range c.nodes {
			if v, err := view(n); err != nil || v.Etcd != "unreachable" {
				return false
			}
		}
		return true
	})
	var resp errBody
	code, err := call("POST", c.nodes[1].url("/api/v1/stream/add"), sensor("late", uri(50), "camera_add"), &resp)
	if err != nil || code != 503 || resp.Code != "etcd_unavailable" || !strings.Contains(resp.Error, "etcd") {
		t.Errorf("stream/add while etcd is away: HTTP %d %+v %v, want 503 naming etcd", code, resp, err)
	}
	t.Logf("stream/add while etcd is away: %d %+v", code, resp)
	if code, _ := call("POST", c.nodes[2].url("/api/v1/stream/remove"), sensor(all[0], uri(1), "camera_remove"), nil); code != 503 {
		t.Errorf("stream/remove while etcd is away: HTTP %d, want 503", code)
	}
	if l, err := clusterStreams(c.nodes[0]); err != nil || len(l) != len(all) {
		t.Errorf("get-stream-info while etcd is away: %v %v, want the %d streams as etcd last said", l, err, len(all))
	}
	for time.Since(t0) < outage {
		if got, ok := once(c.placement(), all); !ok || fmt.Sprint(got) != fmt.Sprint(before) {
			t.Fatalf("%v into the etcd outage the nodes run %v, before it %v", time.Since(t0).Round(time.Second), c.placement(), before)
		}
		time.Sleep(time.Second)
	}
	c.s.etcd.start(t)
	waitFor(t, 30*time.Second, "every node to renew its lease again", func() bool {
		for _, n := range c.nodes {
			if v, err := view(n); err != nil || v.Etcd != "ok" || v.Leader == "" {
				return false
			}
		}
		return true
	})
	t.Logf("etcd back after %v: nodes renewing", time.Since(t0).Round(100*time.Millisecond))
	c.add(c.nodes[1], "late", uri(50))
	all = append(all, "late")
	after := c.settled(30*time.Second, all, "the streams and one added after the outage")
	for cam, n := range before {
		if after[cam] != n {
			t.Errorf("%s moved from %s to %s over the etcd outage", cam, n, after[cam])
		}
	}
	checkNoFences(t, c)

	// NATS away: the events wait in the outbox and the spool.
	published := func() int64 {
		var sum int64
		for _, n := range c.nodes {
			if v, err := view(n); err == nil && v.Events != nil {
				sum += v.Events.Published
			}
		}
		return sum
	}
	c.s.nats.stop(t, syscall.SIGTERM, 10*time.Second)
	t0 = time.Now()
	time.Sleep(2 * time.Second) // what was in flight is settled
	p0 := published()
	for time.Since(t0) < outage {
		time.Sleep(time.Second)
	}
	waiting := 0
	for _, n := range c.nodes {
		if v, err := view(n); err == nil && v.Events != nil {
			waiting += v.Events.Waiting
			if v.Events.Connected {
				t.Errorf("%s says it is connected to NATS while it is away", n.id)
			}
		}
	}
	if p := published(); p != p0 || waiting == 0 {
		t.Errorf("while NATS was away %d events were acknowledged and %d wait; want 0 and some", p-p0, waiting)
	}
	t.Logf("NATS away %v: %d events waiting in the outboxes", outage, waiting)
	c.s.nats.start(t)
	if _, ok := once(c.placement(), all); !ok {
		t.Errorf("over the NATS outage the nodes run %v", c.placement())
	}
	c.stopMonitor()
	c.noDoubles("outages")
	made, stored := c.checkEvents()
	t.Logf("events: %d made by the nodes, %d distinct ids in JetStream", made, stored)
	for _, n := range c.nodes {
		if v, err := view(n); err == nil && v.Events != nil && v.Events.Dropped > 0 {
			t.Errorf("%s dropped %d events (outbox %d)", n.id, v.Events.Dropped, v.Events.Capacity)
		}
	}
}

// checkNoFences fails the test if a node stopped its streams for a lost
// lease (etcd away for all is not a reason to).
func checkNoFences(t *testing.T, c *tcluster) {
	t.Helper()
	for _, n := range c.live() {
		code, body, err := getText(n.url("/metrics"))
		if err != nil || code != 200 {
			t.Errorf("%s /metrics: %d %v", n.id, code, err)
			continue
		}
		if !strings.Contains(body, "\nvidflow_cluster_fences_total 0\n") {
			t.Errorf("%s fenced itself (vidflow_cluster_fences_total > 0)", n.id)
		}
	}
}

func getText(url string) (int, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// errBody is the REST API's error answer.
type errBody struct {
	Reason string `json:"reason"`
	Code   string `json:"code"`
	Error  string `json:"error"`
}
