package publish

import (
	"sync"
)

// Policy is what a full outbox does with a new message.
type Policy int

// Policies.
const (
	DropOldest Policy = iota // make room by dropping the oldest message (the default)
	DropNewest               // drop the new message
)

// entry is a message in the outbox with its sequence number.
type entry struct {
	seq uint64
	m   *Message
	// unspooled: the spool could not write it (a full disk); a restart
	// would not have it.
	unspooled bool
}

// Outbox is a bounded FIFO of messages waiting for delivery. Put never
// blocks: when the outbox is full, the policy drops a message. Messages
// leave it when acknowledged (Ack) or dropped. With a spool, every message
// is also written to disk, and what is still in the outbox when the
// process ends is delivered by the next one.
type Outbox struct {
	mu      sync.Mutex
	ring    []entry
	head, n int
	next    uint64 // the next sequence number
	policy  Policy
	ready   chan struct{} // signalled when a message is put
	dropped int64
	spool   *Spool
	// Messages the spool could not write, since the start, and the last
	// error.
	spoolFails int64
	spoolErr   error
}

// NewOutbox returns an outbox of capacity messages. spool may be nil; its
// pending messages are loaded first (the oldest dropped by the policy if
// they do not fit).
func NewOutbox(capacity int, policy Policy, spool *Spool) *Outbox {
	o := &Outbox{ring: make([]entry, max(capacity, 1)), policy: policy, ready: make(chan struct{}, 1), next: 1, spool: spool}
	if spool != nil {
		for _, e := range spool.Pending() {
			o.next = e.seq
			o.put(e.m, false)
		}
		o.next = spool.NextSeq()
		o.spool.SetDone(o.doneLocked())
	}
	return o
}

// Put adds a message and reports how many messages the policy dropped (0 or 1).
func (o *Outbox) Put(m *Message) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.put(m, o.spool != nil)
}

func (o *Outbox) put(m *Message, toSpool bool) int {
	dropped := 0
	if o.n == len(o.ring) {
		if o.policy == DropNewest {
			o.dropped++
			return 1
		}
		o.ring[o.head] = entry{}
		o.head = (o.head + 1) % len(o.ring)
		o.n--
		o.dropped++
		dropped = 1
	}
	e := entry{seq: o.next, m: m}
	o.next++
	if toSpool {
		if err := o.spool.Append(e); err != nil {
			e.unspooled = true
			o.spoolFails++
			o.spoolErr = err
		}
		if dropped > 0 {
			o.spool.SetDone(o.doneLocked())
		}
	}
	o.ring[(o.head+o.n)%len(o.ring)] = e
	o.n++
	select {
	case o.ready <- struct{}{}:
	default:
	}
	return dropped
}

// doneLocked is the highest sequence number not in the outbox any more.
func (o *Outbox) doneLocked() uint64 {
	if o.n > 0 {
		return o.ring[o.head].seq - 1
	}
	return o.next - 1
}

// Ready is signalled when a message is put.
func (o *Outbox) Ready() <-chan struct{} { return o.ready }

// Peek appends up to max of the oldest messages to dst, leaving them in
// the outbox.
func (o *Outbox) Peek(dst []entry, max int) []entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := 0; i < o.n && i < max; i++ {
		dst = append(dst, o.ring[(o.head+i)%len(o.ring)])
	}
	return dst
}

// Ack removes the messages up to sequence number seq (delivered, or given
// up); those the policy already dropped are gone anyway.
func (o *Outbox) Ack(seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.n > 0 && o.ring[o.head].seq <= seq {
		o.ring[o.head] = entry{}
		o.head = (o.head + 1) % len(o.ring)
		o.n--
	}
	if o.spool != nil {
		o.spool.SetDone(o.doneLocked())
	}
}

// Len is the number of messages waiting.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// Cap is the outbox's capacity.
func (o *Outbox) Cap() int { return len(o.ring) }

// Dropped is the number of messages the policy dropped so far.
func (o *Outbox) Dropped() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped
}

// SpoolFailures is how many messages the spool could not write so far,
// and the last error.
func (o *Outbox) SpoolFailures() (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.spoolFails, o.spoolErr
}

// Unspooled is how many of the waiting messages are not in the spool.
func (o *Outbox) Unspooled() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for i := 0; i < o.n; i++ {
		if o.ring[(o.head+i)%len(o.ring)].unspooled {
			n++
		}
	}
	return n
}

// Sync makes the spool durable now (it also does so by itself, on its
// bounds).
func (o *Outbox) Sync() error {
	if o.spool == nil {
		return nil
	}
	return o.spool.Sync()
}
