package publish

// The spool is a write-ahead log of the outbox, so that what a run could
// not deliver is delivered by the next one, also after a crash.
//
// Files in the spool directory:
//
//	wal-<first seq, 20 digits>.log   segments, oldest first by name
//	acked                            the acknowledgement mark (1024 bytes)
//
// A segment is a sequence of frames, each a 24-byte header then the body:
//
//	offset  size  field
//	0       4     magic F7 'V' 'W' 'L'
//	4       4     body length, little endian
//	8       8     sequence number (the outbox's), little endian
//	16      4     CRC-32C (Castagnoli) of bytes 0..16 of the header
//	20      4     CRC-32C of the body
//	24      n     body: the message (encodeMessage)
//
// The header has its own checksum so that a damaged length is caught
// before it is trusted. A frame that fails either check is skipped, with a
// warning, and reading resynchronises on the next magic whose header
// checks out: one damaged record costs that record, not the rest of its
// segment. The magic starts with 0xF7, a byte that UTF-8 text (the JSON
// payloads) never holds, and a false match must also pass the header CRC.
// Bytes after the last valid frame of a segment (a write cut short by a
// crash) are reported and cut off.
//
// The acked file holds two 16-byte slots, at offsets 0 and 512 (different
// disk sectors): magic 'V' 'A' 'C' 'K', the highest sequence number that is
// delivered or dropped (little endian uint64), CRC-32C of those 12 bytes.
// Writes alternate between the slots and the valid slot with the higher
// number wins, so a torn write leaves the previous mark. The file is
// preallocated when the spool is created and only ever overwritten in
// place: writing a mark needs no new disk blocks, so acknowledgements keep
// working on a full disk (a rename of a new file, as before, needs space).
//
// Durability: Append writes each frame to the file before it returns (no
// user-space buffer), so a message Append accepted survives the process
// being killed. A goroutine of the spool fsyncs the segments and writes and
// fsyncs the mark every SyncInterval, and at once when SyncBytes were
// appended since the last fsync, whatever the sink is doing (delivering, or
// waiting to retry a broker that is away): a machine crash loses at most
// that much. A write that fails (ENOSPC) is cut back to the last complete
// frame and returned to the caller: the outbox counts the message as not
// spooled; it is never reported kept.
//
// Segments whose records are all acknowledged (by a mark on disk) are
// deleted, so the spool holds about what the bounded outbox holds plus one
// segment.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultSegmentBytes is the size after which the spool starts a new segment.
const DefaultSegmentBytes = 8 << 20

// The bounds on what a machine crash can lose: time and bytes since the
// last fsync.
const (
	SyncInterval = 100 * time.Millisecond
	SyncBytes    = 1 << 20
)

const (
	frameHeader = 24
	maxBody     = 1 << 30
	ackFile     = "acked"
	ackSize     = 1024
	ackSlot     = 512
)

var (
	walMagic = [4]byte{0xF7, 'V', 'W', 'L'}
	ackMagic = [4]byte{'V', 'A', 'C', 'K'}
	castagno = crc32.MakeTable(crc32.Castagnoli)
)

// Spool is the outbox's write-ahead log (see the top of this file).
type Spool struct {
	dir      string
	segBytes int64

	mu       sync.Mutex // the fields up to syncMu
	segs     []segment  // oldest first; the last is being written
	f        *os.File   // the last segment
	written  int64      // its size: the end of its last complete frame
	closing  []*os.File // finished segments, closed once synced
	newFile  bool       // a segment was created since the directory's last fsync
	unsynced int64      // bytes appended since the last fsync
	done     uint64     // highest sequence number delivered or dropped
	next     uint64
	pending  []entry
	problems []string
	buf      []byte
	bgErr    error // a failure of the background sync, for Err
	closed   bool

	syncMu sync.Mutex // one Sync at a time; guards ack, slot, acked
	ack    *os.File
	slot   int
	acked  uint64 // the mark on disk

	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
}

type segment struct {
	first uint64
	path  string
}

// OpenSpool opens (or creates) a spool directory, reads the messages not
// yet acknowledged (Pending) and starts the background sync. Damaged
// records are skipped and described by Problems.
func OpenSpool(dir string, segBytes int64) (*Spool, error) {
	if segBytes <= 0 {
		segBytes = DefaultSegmentBytes
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, segBytes: segBytes, next: 1, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	if err := s.openAck(); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s.done, s.next = s.acked, s.acked+1
	if old, _ := filepath.Glob(filepath.Join(dir, "seg-*.log")); len(old) > 0 {
		s.problem("%d segment files of an earlier spool format (seg-*.log) are not read", len(old))
	}
	if err := s.readSegments(); err != nil {
		s.ack.Close()
		return nil, err
	}
	if n := len(s.segs); n > 0 {
		// A new segment never sorts before the last one.
		s.next = max(s.next, s.segs[n-1].first)
	}
	if err := s.rotate(); err != nil {
		s.ack.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.syncLoop()
	return s, nil
}

// openAck opens the acked file, creating and preallocating it (fsynced,
// with the directory) when missing, and reads the mark.
func (s *Spool) openAck() error {
	p := filepath.Join(s.dir, ackFile)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		if f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); err == nil {
			err = preallocate(f, s.dir)
		}
	}
	if err != nil {
		if f != nil {
			f.Close()
			os.Remove(p)
		}
		return err
	}
	s.ack = f
	var b [ackSize]byte
	n, _ := f.ReadAt(b[:], 0)
	for i := 0; i < 2; i++ {
		if v, ok := parseAck(b[:n], i*ackSlot); ok && v >= s.acked {
			s.acked, s.slot = v, 1-i // the next write goes to the other slot
		}
	}
	return nil
}

func preallocate(f *os.File, dir string) error {
	if _, err := f.WriteAt(make([]byte, ackSize), 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return syncDir(dir)
}

func parseAck(b []byte, off int) (uint64, bool) {
	if len(b) < off+16 || !bytes.Equal(b[off:off+4], ackMagic[:]) {
		return 0, false
	}
	if crc32.Checksum(b[off:off+12], castagno) != binary.LittleEndian.Uint32(b[off+12:]) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[off+4:]), true
}

// writeAck writes the mark seq in place, in the slot not holding the
// current mark, and makes it durable. Called with syncMu held.
func (s *Spool) writeAck(seq uint64) error {
	var b [16]byte
	copy(b[:], ackMagic[:])
	binary.LittleEndian.PutUint64(b[4:], seq)
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagno))
	if _, err := s.ack.WriteAt(b[:], int64(s.slot*ackSlot)); err != nil {
		return err
	}
	if err := s.ack.Sync(); err != nil {
		return err
	}
	s.slot, s.acked = 1-s.slot, seq
	return nil
}

func (s *Spool) problem(format string, args ...any) {
	s.problems = append(s.problems, fmt.Sprintf("spool %s: ", s.dir)+fmt.Sprintf(format, args...))
}

// Problems describes what OpenSpool skipped: damaged records, bytes of a
// write cut short, files it does not read.
func (s *Spool) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

func (s *Spool) readSegments() error {
	names, err := filepath.Glob(filepath.Join(s.dir, "wal-*.log"))
	if err != nil {
		return err
	}
	for _, p := range names {
		first, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "wal-"), ".log"), 10, 64)
		if err != nil {
			continue
		}
		s.segs = append(s.segs, segment{first: first, path: p})
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].first < s.segs[j].first })
	for i, sg := range s.segs {
		if err := s.readSegment(sg.path, i == len(s.segs)-1); err != nil {
			return err
		}
	}
	return nil
}

// readSegment reads the frames of a segment, skipping damaged ones. The
// last segment is cut after its last valid frame, so that appending to it
// again cannot leave a torn frame in the middle.
func (s *Spool) readSegment(path string, last bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	base := filepath.Base(path)
	off, end := 0, 0
	for off < len(data) {
		seq, body, n := parseFrame(data[off:])
		var m *Message
		if n > 0 {
			if m, err = decodeMessage(body); err != nil {
				n = -n // checksums fine, contents not: skip the frame
			}
		}
		if n <= 0 {
			skip := -n
			if skip == 0 {
				skip = resync(data, off+1) - off
			}
			if off+skip == len(data) {
				s.problem("%s: %d bytes at offset %d are not a complete record (a write cut short, or damage): discarded", base, skip, off)
			} else {
				s.problem("%s: corrupt record at offset %d (%d bytes) skipped; the records after it are kept", base, off, skip)
			}
			off += skip
			continue
		}
		off += n
		end = off
		s.next = max(s.next, seq+1)
		if seq > s.done {
			s.pending = append(s.pending, entry{seq: seq, m: m})
		}
	}
	if last && end < len(data) {
		if err := os.Truncate(path, int64(end)); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return nil
}

// resync finds the first frame header that checks out at or after from,
// len(data) if none.
func resync(data []byte, from int) int {
	for k := from; k < len(data); k++ {
		i := bytes.Index(data[k:], walMagic[:])
		if i < 0 {
			break
		}
		k += i
		if _, _, n := parseFrame(data[k:]); n != 0 {
			return k
		}
	}
	return len(data)
}

// parseFrame reads the frame at the start of b: n > 0, a valid frame of n
// bytes; n < 0, a frame of -n bytes whose header is valid and body is
// not; 0, no valid header (or a frame cut short).
func parseFrame(b []byte) (seq uint64, body []byte, n int) {
	if len(b) < frameHeader || !bytes.Equal(b[:4], walMagic[:]) ||
		crc32.Checksum(b[:16], castagno) != binary.LittleEndian.Uint32(b[16:20]) {
		return 0, nil, 0
	}
	size := binary.LittleEndian.Uint32(b[4:8])
	if size > maxBody || len(b)-frameHeader < int(size) {
		return 0, nil, 0
	}
	n = frameHeader + int(size)
	body = b[frameHeader:n]
	if crc32.Checksum(body, castagno) != binary.LittleEndian.Uint32(b[20:24]) {
		return 0, nil, -n
	}
	return binary.LittleEndian.Uint64(b[8:16]), body, n
}

// appendFrame appends the frame of message m, sequence number seq, to b.
func appendFrame(b []byte, seq uint64, m *Message) []byte {
	start := len(b)
	b = append(b, make([]byte, frameHeader)...)
	b = encodeMessage(b, m)
	h := b[start : start+frameHeader]
	copy(h, walMagic[:])
	binary.LittleEndian.PutUint32(h[4:8], uint32(len(b)-start-frameHeader))
	binary.LittleEndian.PutUint64(h[8:16], seq)
	binary.LittleEndian.PutUint32(h[16:20], crc32.Checksum(h[:16], castagno))
	binary.LittleEndian.PutUint32(h[20:24], crc32.Checksum(b[start+frameHeader:], castagno))
	return b
}

// Pending are the messages read at open that are not acknowledged, oldest
// first.
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

// rotate starts the segment for s.next; the finished one is closed by the
// next Sync, after its fsync (not here: Append runs on the video path).
// Called with mu held (or before the spool is shared).
func (s *Spool) rotate() error {
	p := filepath.Join(s.dir, fmt.Sprintf("wal-%020d.log", s.next))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	if s.f != nil {
		s.closing = append(s.closing, s.f)
	}
	if n := len(s.segs); n == 0 || s.segs[n-1].path != p {
		s.segs = append(s.segs, segment{first: s.next, path: p})
	}
	s.f, s.written, s.newFile = f, st.Size(), true
	return nil
}

// Append writes the frame of a message to the current segment. When that
// fails (a full disk), the segment is cut back to its last complete frame
// and the error returned: the message is not in the spool.
func (s *Spool) Append(e entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("spool closed")
	}
	if s.written >= s.segBytes {
		s.next = e.seq
		if err := s.rotate(); err != nil {
			return err
		}
	}
	s.buf = appendFrame(s.buf[:0], e.seq, e.m)
	if _, err := s.f.WriteAt(s.buf, s.written); err != nil {
		// Shrinking needs no space; should it fail too, the reader
		// skips the torn frame.
		_ = s.f.Truncate(s.written)
		return fmt.Errorf("spool: %w", err)
	}
	s.written += int64(len(s.buf))
	s.unsynced += int64(len(s.buf))
	s.next = e.seq + 1
	if s.unsynced >= SyncBytes {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// SetDone records that every message up to seq is delivered or dropped;
// the mark reaches the disk with the next Sync.
func (s *Spool) SetDone(seq uint64) {
	s.mu.Lock()
	s.done = max(s.done, seq)
	s.mu.Unlock()
}

// syncLoop syncs on the spool's bounds, independently of the sink.
func (s *Spool) syncLoop() {
	defer s.wg.Done()
	t := time.NewTicker(SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		if err := s.Sync(); err != nil {
			s.mu.Lock()
			s.bgErr = err
			s.mu.Unlock()
		}
	}
}

// Err returns (and forgets) the last failure of the background sync.
func (s *Spool) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.bgErr
	s.bgErr = nil
	return err
}

// Sync makes the appended frames durable, then writes the acknowledgement
// mark, then deletes the segments it covers. A mark that cannot be written
// is returned and tried again by the next Sync; the segments stay.
func (s *Spool) Sync() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	f, done, newFile := s.f, s.done, s.newFile
	closing := s.closing
	if s.unsynced == 0 && !newFile && len(closing) == 0 && done == s.acked {
		s.mu.Unlock()
		return nil
	}
	s.closing, s.newFile, s.unsynced = nil, false, 0
	s.mu.Unlock()
	var errs []error
	for _, c := range closing {
		errs = append(errs, c.Sync(), c.Close())
	}
	if f != nil {
		errs = append(errs, f.Sync())
	}
	if newFile {
		errs = append(errs, syncDir(s.dir))
	}
	if done > s.acked && s.ack != nil {
		errs = append(errs, s.writeAck(done))
	}
	s.mu.Lock()
	var gone []string
	for len(s.segs) > 1 && s.segs[1].first-1 <= s.acked {
		gone = append(gone, s.segs[0].path)
		s.segs = s.segs[1:]
	}
	s.mu.Unlock()
	for _, p := range gone {
		if err := os.Remove(p); !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close stops the background sync, syncs and closes the spool.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	err := s.Sync()
	s.syncMu.Lock() // the order of Sync: syncMu, then mu
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := errors.Join(s.f.Close(), s.ack.Close()); err == nil && e != nil {
		err = fmt.Errorf("spool: %w", e)
	}
	s.f, s.ack = nil, nil
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
