package service

import (
	"strings"
	"testing"
	"time"
)

// The cluster: section: defaults, ${VAR}, and clear errors.
func TestClusterConfig(t *testing.T) {
	base := "max-batch-size: 6\ncluster:\n  etcd: [http://127.0.0.1:2379]\n"
	c, err := ParseConfig([]byte(base+"  node-id: a\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Cluster
	if cl.Capacity != 6 || cl.Prefix != "/vidflow/" || time.Duration(cl.LeaseTTL) != 4*time.Second || cl.Subject != "vidflow.events" ||
		cl.Stream != "VIDFLOW_EVENTS" || time.Duration(cl.DuplicateWindow) != 2*time.Minute || cl.Outbox != 10000 ||
		time.Duration(cl.DrainTimeout) != 20*time.Second {
		t.Errorf("defaults: %+v", cl)
	}
	t.Setenv("VF_TEST_POD", "vidflow-7c9d-x2")
	t.Setenv("VF_TEST_IP", "10.0.0.7")
	c, err = ParseConfig([]byte(base+"  node-id: ${VF_TEST_POD}\n  advertise: http://${VF_TEST_IP}:9000\n  prefix: /site-1\n  lease-ttl: 3s\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.NodeID != "vidflow-7c9d-x2" || c.Cluster.Advertise != "http://10.0.0.7:9000" || c.Cluster.Prefix != "/site-1/" {
		t.Errorf("${VAR}: %+v", c.Cluster)
	}
	for _, tc := range []struct{ yml, want string }{
		{"max-batch-size: 6\ncluster: {node-id: a}\n", "cluster.etcd: no endpoints"},
		{base, "cluster.node-id: empty"},
		{base + "  node-id: ${VF_TEST_UNSET_VAR}\n", "cluster.node-id: empty"},
		{base + "  node-id: a.b\n", `cluster.node-id "a.b"`},
		{base + "  node-id: a\n  capacity: 7\n", "cluster.capacity 7: want 1..max-batch-size (6)"},
		{base + "  node-id: a\n  lease-ttl: 1s\n", "cluster.lease-ttl 1s: want 2s..1m"},
		{"cluster:\n  etcd: [127.0.0.1:2379]\n  node-id: a\n", "is not an endpoint URL"},
		{base + "  node-id: a\n  lease-ttl: soon\n", "soon"},
	} {
		_, err := ParseConfig([]byte(tc.yml), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.yml, err, tc.want)
		}
	}
}
