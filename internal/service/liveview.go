package service

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vidflow/vidflow/internal/imgproc"
	"github.com/vidflow/vidflow/media"
)

// liveView is the BufferRetriever at the end of the live branch: for each
// stream someone watches, it copies (and scales) the latest frame at most
// fps times a second, and one goroutine encodes it to JPEG. It keeps only
// the latest frame of each stream: nothing queues, and the pipeline never
// waits for it (its queue drops the oldest batch when full).
type liveView struct {
	cfg     LiveViewConfig
	period  time.Duration
	conv    imgproc.Converter // used by Consume's goroutine only
	mu      sync.Mutex
	slots   map[int]*liveSlot
	dirty   chan struct{}
	done    chan struct{}
	stopped sync.Once
	encoded atomic.Int64
}

// liveSlot is one stream's latest picture.
type liveSlot struct {
	id      int
	gone    chan struct{} // closed when the stream leaves
	viewers atomic.Int32

	mu       sync.Mutex
	lastGrab time.Time
	staging  *image.RGBA // the latest frame, scaled, not yet encoded
	fresh    bool
	spare    *image.RGBA
	jpeg     []byte // the latest JPEG; replaced, never changed
	seq      uint64
	updated  chan struct{} // closed when jpeg changes
}

func newLiveView(cfg LiveViewConfig) *liveView {
	return &liveView{cfg: cfg, period: time.Duration(float64(time.Second) / cfg.FPS), slots: map[int]*liveSlot{},
		dirty: make(chan struct{}, 1), done: make(chan struct{})}
}

func (lv *liveView) add(id int) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if _, ok := lv.slots[id]; !ok {
		lv.slots[id] = &liveSlot{id: id, gone: make(chan struct{}), updated: make(chan struct{})}
	}
}

func (lv *liveView) remove(id int) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if sl, ok := lv.slots[id]; ok {
		close(sl.gone)
		delete(lv.slots, id)
	}
}

func (lv *liveView) slot(id int) *liveSlot {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return lv.slots[id]
}

func (lv *liveView) viewers() int {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	n := 0
	for _, sl := range lv.slots {
		n += int(sl.viewers.Load())
	}
	return n
}

func (lv *liveView) stop() { lv.stopped.Do(func() { close(lv.done) }) }

// Consume takes the frames of streams that are watched and due.
func (lv *liveView) Consume(b *media.Buffer) error {
	now := time.Now()
	grabbed := false
	for _, fm := range b.Meta().Frames {
		sl := lv.slot(fm.SourceID)
		if sl == nil || sl.viewers.Load() == 0 {
			continue
		}
		sl.mu.Lock()
		due := now.Sub(sl.lastGrab) >= lv.period
		sl.mu.Unlock()
		if !due {
			continue
		}
		surf, err := b.Surface(fm.BatchID)
		if err != nil || surf.Width <= 0 || surf.Height <= 0 {
			continue
		}
		w := min(lv.cfg.Width, surf.Width)
		h := max(2, (surf.Height*w/surf.Width)&^1)
		// Scale into a picture of its own outside the slot's lock.
		sl.mu.Lock()
		img := sl.spare
		sl.spare = nil
		sl.mu.Unlock()
		if img == nil || img.Rect.Dx() != w || img.Rect.Dy() != h {
			img = image.NewRGBA(image.Rect(0, 0, w, h))
		}
		dst := media.PackedSurface(media.RGBA, w, h, img.Pix)
		if err := lv.conv.Convert(&dst, surf); err != nil {
			continue
		}
		sl.mu.Lock()
		sl.spare, sl.staging = sl.staging, img
		sl.fresh = true
		sl.lastGrab = now
		sl.mu.Unlock()
		grabbed = true
	}
	if grabbed {
		select {
		case lv.dirty <- struct{}{}:
		default:
		}
	}
	return nil
}

// run encodes the fresh pictures until stop.
func (lv *liveView) run() {
	var buf bytes.Buffer
	for {
		select {
		case <-lv.done:
			return
		case <-lv.dirty:
		}
		lv.mu.Lock()
		slots := make([]*liveSlot, 0, len(lv.slots))
		for _, sl := range lv.slots {
			slots = append(slots, sl)
		}
		lv.mu.Unlock()
		for _, sl := range slots {
			sl.mu.Lock()
			img := sl.staging
			if !sl.fresh || img == nil {
				sl.mu.Unlock()
				continue
			}
			sl.staging, sl.fresh = nil, false
			sl.mu.Unlock()
			buf.Reset()
			err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: lv.cfg.Quality})
			sl.mu.Lock()
			if sl.spare == nil {
				sl.spare = img
			}
			if err == nil {
				sl.jpeg = bytes.Clone(buf.Bytes())
				sl.seq++
				close(sl.updated)
				sl.updated = make(chan struct{})
			}
			sl.mu.Unlock()
			if err == nil {
				lv.encoded.Add(1)
			}
		}
	}
}

// latest returns the slot's JPEG, its number and a channel closed when
// the next one is there.
func (sl *liveSlot) latest() ([]byte, uint64, chan struct{}) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.jpeg, sl.seq, sl.updated
}

// watch marks a stream watched; the returned func ends it.
func (lv *liveView) watch(id int) (*liveSlot, func()) {
	sl := lv.slot(id)
	if sl == nil {
		return nil, nil
	}
	sl.viewers.Add(1)
	return sl, func() { sl.viewers.Add(-1) }
}

const mjpegBoundary = "vidflowframe"

// serveMJPEG streams a stream's live view as multipart JPEG until the
// client leaves, the stream is removed or the server stops. A slow client
// skips to the latest picture; one that blocks a write for 10 s is dropped.
func (s *Service) serveMJPEG(w http.ResponseWriter, r *http.Request, st Stream) {
	sl, unwatch := s.live.watch(st.SourceID)
	if sl == nil {
		writeError(w, errorf(http.StatusNotFound, "unknown_camera_id", "no live view of camera_id %q", st.CameraID), "")
		return
	}
	defer unwatch()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "multipart/x-mixed-replace; boundary="+mjpegBoundary)
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	var last uint64
	for {
		img, seq, next := sl.latest()
		if seq != last && img != nil {
			last = seq
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", mjpegBoundary, len(img)); err != nil {
				return
			}
			if _, err := w.Write(img); err != nil {
				return
			}
			if _, err := w.Write([]byte("\r\n")); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
		select {
		case <-next:
		case <-sl.gone:
			return
		case <-r.Context().Done():
			return
		case <-s.live.done:
			return
		}
	}
}

// serveSnapshot answers one JPEG: the next picture (3 s at most).
func (s *Service) serveSnapshot(w http.ResponseWriter, r *http.Request, st Stream) {
	sl, unwatch := s.live.watch(st.SourceID)
	if sl == nil {
		writeError(w, errorf(http.StatusNotFound, "unknown_camera_id", "no live view of camera_id %q", st.CameraID), "")
		return
	}
	defer unwatch()
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	img, seq, next := sl.latest()
	start := seq
	for seq == start || img == nil {
		select {
		case <-next:
		case <-sl.gone:
			writeError(w, errorf(http.StatusNotFound, "unknown_camera_id", "camera_id %q was removed", st.CameraID), "")
			return
		case <-ctx.Done():
			if img != nil { // an older picture is better than none
				seq = start + 1
				continue
			}
			writeError(w, errorf(http.StatusServiceUnavailable, "no_frame", "no frame of camera_id %q in 3 s", st.CameraID), "")
			return
		}
		img, seq, next = sl.latest()
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(img)
}
