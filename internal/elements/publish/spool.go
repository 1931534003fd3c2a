package publish

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Spool keeps an outbox's messages on disk so that a restart loses
// nothing: an append-only log in segment files ("seg-<first seq>.log",
// records of length, CRC-32, sequence number and message) and a "done"
// file holding the highest sequence number delivered or dropped. Segments
// whose messages are all done are deleted. Writes are buffered and made
// durable by Sync (the sink calls it after each delivery and every 100 ms);
// a crash loses at most the messages since the last Sync, a clean stop
// none.
type Spool struct {
	mu       sync.Mutex
	dir      string
	segBytes int64
	segs     []segment // oldest first; the last is being written
	f        *os.File
	w        *bufio.Writer
	written  int64
	done     uint64
	synced   uint64 // the done value last written
	next     uint64
	pending  []entry
	hdr      [16]byte
	buf      []byte
}

type segment struct {
	first uint64
	path  string
}

// DefaultSegmentBytes is the size after which the spool starts a new segment.
const DefaultSegmentBytes = 8 << 20

// OpenSpool opens (or creates) a spool directory and reads the messages
// not yet done. A record that was cut short by a crash ends its segment.
func OpenSpool(dir string, segBytes int64) (*Spool, error) {
	if segBytes <= 0 {
		segBytes = DefaultSegmentBytes
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, segBytes: segBytes, next: 1}
	if data, err := os.ReadFile(filepath.Join(dir, "done")); err == nil && len(data) >= 8 {
		s.done = binary.LittleEndian.Uint64(data)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s.synced = s.done
	s.next = s.done + 1
	names, err := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if err != nil {
		return nil, err
	}
	for _, p := range names {
		first, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "seg-"), ".log"), 10, 64)
		if err != nil {
			continue
		}
		s.segs = append(s.segs, segment{first: first, path: p})
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].first < s.segs[j].first })
	for _, sg := range s.segs {
		if err := s.read(sg.path); err != nil {
			return nil, err
		}
	}
	if err := s.rotate(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Spool) read(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var hdr [16]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil // the end, or a record cut short
		}
		n := binary.LittleEndian.Uint32(hdr[0:4])
		sum := binary.LittleEndian.Uint32(hdr[4:8])
		seq := binary.LittleEndian.Uint64(hdr[8:16])
		if n > 1<<30 {
			return nil
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil || crc32.ChecksumIEEE(body) != sum {
			return nil
		}
		s.next = max(s.next, seq+1)
		if seq <= s.done {
			continue
		}
		m, err := decodeMessage(body)
		if err != nil {
			return nil
		}
		s.pending = append(s.pending, entry{seq: seq, m: m})
	}
}

// Pending are the messages read at open that are not done, oldest first.
func (s *Spool) Pending() []entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending
	s.pending = nil
	return p
}

// NextSeq is the sequence number after the highest the spool holds.
func (s *Spool) NextSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// rotate starts a new segment at s.next.
func (s *Spool) rotate() error {
	if s.f != nil {
		if err := s.w.Flush(); err != nil {
			return err
		}
		if err := s.f.Close(); err != nil {
			return err
		}
	}
	p := filepath.Join(s.dir, fmt.Sprintf("seg-%020d.log", s.next))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if st, err := f.Stat(); err == nil {
		s.written = st.Size()
	}
	if n := len(s.segs); n == 0 || s.segs[n-1].path != p {
		s.segs = append(s.segs, segment{first: s.next, path: p})
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Append writes a message (buffered).
func (s *Spool) Append(e entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errors.New("spool closed")
	}
	if s.written >= s.segBytes {
		s.next = e.seq
		if err := s.rotate(); err != nil {
			return err
		}
	}
	s.buf = encodeMessage(s.buf[:0], e.m)
	binary.LittleEndian.PutUint32(s.hdr[0:4], uint32(len(s.buf)))
	binary.LittleEndian.PutUint32(s.hdr[4:8], crc32.ChecksumIEEE(s.buf))
	binary.LittleEndian.PutUint64(s.hdr[8:16], e.seq)
	if _, err := s.w.Write(s.hdr[:]); err != nil {
		return err
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	s.written += int64(len(s.hdr) + len(s.buf))
	s.next = e.seq + 1
	return nil
}

// SetDone records that every message up to seq is delivered or dropped.
func (s *Spool) SetDone(seq uint64) {
	s.mu.Lock()
	if seq > s.done {
		s.done = seq
	}
	s.mu.Unlock()
}

// Sync makes the appended messages and the done mark durable and deletes
// the segments that are all done. outer, if not nil, is held while the
// buffer is written out (the outbox's lock, under which Append runs).
func (s *Spool) Sync(outer sync.Locker) error {
	if outer != nil {
		outer.Lock()
	}
	s.mu.Lock()
	if s.f == nil {
		s.mu.Unlock()
		if outer != nil {
			outer.Unlock()
		}
		return nil
	}
	err := s.w.Flush()
	f, done, synced := s.f, s.done, s.synced
	var gone []string
	for len(s.segs) > 1 && s.segs[1].first-1 <= done {
		gone = append(gone, s.segs[0].path)
		s.segs = s.segs[1:]
	}
	s.mu.Unlock()
	if outer != nil {
		outer.Unlock()
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("spool: %w", err)
	}
	if done != synced {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], done)
		tmp := filepath.Join(s.dir, "done.tmp")
		if err := writeSynced(tmp, b[:]); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if err := os.Rename(tmp, filepath.Join(s.dir, "done")); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.mu.Lock()
		s.synced = max(s.synced, done)
		s.mu.Unlock()
	}
	for _, p := range gone {
		_ = os.Remove(p)
	}
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Close syncs and closes the spool.
func (s *Spool) Close() error {
	err := s.Sync(nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		if e := s.f.Close(); err == nil {
			err = e
		}
		s.f = nil
	}
	return err
}

// Record encoding: id, sensor, kind (uvarint length + bytes), source
// (varint), frame (varint), time (unix ns, varint), payload (uvarint
// length + bytes).
func encodeMessage(b []byte, m *Message) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(m.ID)
	str(m.Sensor)
	str(m.Kind)
	b = binary.AppendVarint(b, int64(m.Source))
	b = binary.AppendVarint(b, m.Frame)
	b = binary.AppendVarint(b, m.Time.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(m.Payload)))
	return append(b, m.Payload...)
}

var errRecord = errors.New("bad spool record")

func decodeMessage(b []byte) (*Message, error) {
	bytes := func() ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, errRecord
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, nil
	}
	varint := func() (int64, error) {
		v, k := binary.Varint(b)
		if k <= 0 {
			return 0, errRecord
		}
		b = b[k:]
		return v, nil
	}
	m := &Message{}
	var parts [3][]byte
	for i := range parts {
		p, err := bytes()
		if err != nil {
			return nil, err
		}
		parts[i] = p
	}
	m.ID, m.Sensor, m.Kind = string(parts[0]), string(parts[1]), string(parts[2])
	src, err := varint()
	if err != nil {
		return nil, err
	}
	frame, err := varint()
	if err != nil {
		return nil, err
	}
	ts, err := varint()
	if err != nil {
		return nil, err
	}
	payload, err := bytes()
	if err != nil {
		return nil, err
	}
	m.Source, m.Frame, m.Time = int(src), frame, time.Unix(0, ts)
	m.Payload = append([]byte(nil), payload...)
	return m, nil
}
