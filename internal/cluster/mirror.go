package cluster

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// mirror is this node's copy of the cluster's keys, kept by one watch
// from the revision of a full read: placement, assignments and the views
// read it instead of asking etcd each time. It is what etcd said at
// rev; while etcd is away it stays as it was.
type mirror struct {
	cli     *clientv3.Client
	pfx     string
	changed func()

	mu  sync.Mutex
	kvs map[string]*mvccpb.KeyValue
	rev int64
}

func newMirror(cli *clientv3.Client, pfx string, changed func()) *mirror {
	return &mirror{cli: cli, pfx: pfx, changed: changed, kvs: map[string]*mvccpb.KeyValue{}}
}

// load reads every key of the prefix.
func (m *mirror) load(ctx context.Context) error {
	r, err := m.cli.Get(ctx, m.pfx, clientv3.WithPrefix())
	if err != nil {
		return err
	}
	kvs := make(map[string]*mvccpb.KeyValue, len(r.Kvs))
	for _, kv := range r.Kvs {
		kvs[string(kv.Key)] = kv
	}
	m.mu.Lock()
	m.kvs, m.rev = kvs, r.Header.Revision
	m.mu.Unlock()
	m.changed()
	return nil
}

// watch follows the prefix from the loaded revision; a compacted
// revision (a long outage) means a full read again.
func (m *mirror) watch(ctx context.Context) {
	for ctx.Err() == nil {
		m.mu.Lock()
		rev := m.rev
		m.mu.Unlock()
		wch := m.cli.Watch(clientv3.WithRequireLeader(ctx), m.pfx, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
		for wr := range wch {
			if wr.CompactRevision != 0 || wr.Err() != nil {
				break
			}
			m.mu.Lock()
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					delete(m.kvs, string(ev.Kv.Key))
				} else {
					m.kvs[string(ev.Kv.Key)] = ev.Kv
				}
			}
			m.rev = wr.Header.Revision
			m.mu.Unlock()
			m.changed()
		}
		// The watch ended (no etcd leader, compaction): read everything
		// again once etcd answers.
		for ctx.Err() == nil {
			lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := m.load(lctx)
			cancel()
			if err == nil {
				break
			}
			sleep(ctx, 500*time.Millisecond)
		}
	}
}

// list decodes the values under sub ("nodes/", ...) by their key's last
// part.
func list[T any](m *mirror, sub string) map[string]T {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]T{}
	p := m.pfx + sub
	for k, kv := range m.kvs {
		if !strings.HasPrefix(k, p) {
			continue
		}
		var v T
		if json.Unmarshal(kv.Value, &v) == nil {
			out[strings.TrimPrefix(k, p)] = v
		}
	}
	return out
}

// assignedTo lists the streams placed on node, with the revision of
// their assignment (the epoch: a new placement is a new one).
func (m *mirror) assignedTo(node string) map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int64{}
	p := m.pfx + "assign/"
	for k, kv := range m.kvs {
		if !strings.HasPrefix(k, p) {
			continue
		}
		var a assignRecord
		if json.Unmarshal(kv.Value, &a) == nil && a.Node == node {
			out[strings.TrimPrefix(k, p)] = kv.ModRevision
		}
	}
	return out
}

// running lists, per stream, the nodes that report running it.
func (m *mirror) running() map[string][]string {
	out := map[string][]string{}
	for k := range list[statusRecord](m, "status/") {
		cam, node, ok := strings.Cut(k, "/")
		if ok {
			out[cam] = append(out[cam], node)
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// leader is the elected node: the election key of the lowest create
// revision (etcd's election API orders candidates so).
func (m *mirror) leader() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best *mvccpb.KeyValue
	p := m.pfx + "leader/"
	for k, kv := range m.kvs {
		if strings.HasPrefix(k, p) && (best == nil || kv.CreateRevision < best.CreateRevision) {
			best = kv
		}
	}
	if best == nil {
		return ""
	}
	return string(best.Value)
}

// createRev is the create revision of a key (sub: "nodes/<id>").
func (m *mirror) createRev(sub string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if kv, ok := m.kvs[m.pfx+sub]; ok {
		return kv.CreateRevision
	}
	return 0
}

// lastRev is the newest revision of the keys under sub: when the last
// placement was written.
func (m *mirror) lastRev(sub string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var last int64
	p := m.pfx + sub
	for k, kv := range m.kvs {
		if strings.HasPrefix(k, p) && kv.ModRevision > last {
			last = kv.ModRevision
		}
	}
	return last
}

func (m *mirror) revision() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
