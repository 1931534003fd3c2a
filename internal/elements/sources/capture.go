// Package capture holds the sources that decode media through GStreamer:
// files, RTSP and HTTP streams and still images (kind nvurisrcbin), and
// any GStreamer description ending in raw video (kind gstsrc). Decoding,
// colour conversion and scaling happen inside GStreamer; frames come out
// as zero-copy views of GStreamer's buffers, released explicitly.
package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/internal/deepstream"
	"github.com/vidflow/vidflow/internal/gst"
	"github.com/vidflow/vidflow/media"
)

func registerCapture(r *element.Registry) {
	r.MustRegister(element.KindSpec{
		Kind:    "nvurisrcbin",
		Aliases: []string{"urisrc", "uridecodebin"},
		Doc: "Decodes a file, RTSP or HTTP stream or still image (uri) into raw frames through GStreamer, " +
			"scaled there to width x height. RTSP and HTTP sources reconnect with backoff; file-loop restarts files at their end; " +
			"a file that gives no frame for no-data-timeout fails, one that ends before its announced duration is reported truncated.",
		Role: element.RoleSource,
		Props: append([]element.PropSpec{
			{Name: "uri", Type: element.String, Doc: "file:///path, a bare path, rtsp://, http(s)://"},
			{Name: "width", Type: element.Int, Default: 0, Doc: "output width; 0 = the stream's"},
			{Name: "height", Type: element.Int, Default: 0, Doc: "output height; 0 = the stream's"},
			{Name: "format", Type: element.String, Default: "RGB", Doc: "output format: RGB, RGBA, GRAY8, I420 or NV12"},
			{Name: "file-loop", Type: element.Bool, Default: false, Doc: "restart files at their end"},
			{Name: "latency", Type: element.Int, Default: 100, Doc: "RTSP jitter buffer, ms"},
			{Name: "select-rtp-protocol", Type: element.Int, Default: 7, Doc: "RTSP transports: 4 TCP, 7 UDP+multicast+TCP"},
			{Name: "rtsp-reconnect-interval", Type: element.Int, Default: 10, Doc: "s without data before a live source reconnects (0 = only on errors)"},
			{Name: "init-rtsp-reconnect-interval", Type: element.Int, Default: 1, Doc: "s before the first reconnection attempt; doubles up to 30 s"},
			{Name: "rtsp-reconnect-attempts", Type: element.Int, Default: -1, Doc: "reconnection attempts before the source fails; -1 = forever"},
			{Name: "no-data-timeout", Type: element.Duration, Default: 5 * time.Second, Unit: time.Millisecond,
				Doc: "files: longest wait for the first frame and between frames (ms as a number) before the stream fails with an error naming it; 0 = forever"},
			{Name: "drop-frame-interval", Type: element.Int, Default: 0, Doc: "keep one frame in N (0 = all)"},
			{Name: "decoder", Type: element.String, Default: "auto", Doc: "video decoder: auto (NVIDIA NVDEC when GStreamer has it, else software), " +
				"nvdec (NVDEC only; an error when missing) or cpu (software only); the one picked is reported at start"},
			{Name: "convert", Type: element.String, Default: "cpu", Doc: "where frames are converted to format and scaled: cpu (videoconvert, videoscale) " +
				"cuda (GStreamer's cudaconvert and cudascale on the GPU, then one download of the result: for NVDEC streams) " +
				"or device (the same on the GPU, and frames stay in its memory: infer's GPU preprocessing reads them; elements that draw get a host copy)"},
			{Name: "sensor-id", Type: element.String, Default: "", Doc: "FrameMeta.SensorID"},
			{Name: "sensor-name", Type: element.String, Default: "", Doc: "FrameMeta.SensorName"},
			{Name: "gpu-id", Type: element.Int, Default: 0, Ignored: true},
			{Name: "cudadec-memtype", Type: element.Int, Default: 0, Ignored: true},
			{Name: "source-type", Type: element.Int, Default: 0, Ignored: true},
			{Name: "dec-skip-frames", Type: element.Int, Default: 0, Doc: "0 decodes every frame; 2 key frames only (the other compressed frames are dropped before the decoder); " +
				"1 (non-reference frames skipped) decodes every frame, with a warning: GStreamer's parsers do not mark non-reference frames"},
			{Name: "drop-on-latency", Type: element.Bool, Default: true, Ignored: true},
			// nvurisrcbin's decoder and network tuning: accepted, with a
			// warning that they have no effect.
			{Name: "num-extra-surfaces", Type: element.Int, Default: 1, Ignored: true},
			{Name: "low-latency-mode", Type: element.Bool, Default: false, Ignored: true},
			{Name: "udp-buffer-size", Type: element.Int, Default: 524288, Ignored: true},
			{Name: "disable-passthrough", Type: element.Bool, Default: false, Ignored: true},
			{Name: "disable-audio", Type: element.Bool, Default: false, Ignored: true},
			{Name: "async-handling", Type: element.Bool, Default: false, Ignored: true},
		}, recordProps...),
		New: newURISource,
	})
	r.MustRegister(element.KindSpec{
		Kind: "gstsrc",
		Doc: "A GStreamer description producing raw video (\"v4l2src device=/dev/video0\", \"videotestsrc is-live=true\"); " +
			"vidflow appends the conversion to format/width/height and its appsink.",
		Role: element.RoleSource,
		Props: []element.PropSpec{
			{Name: "description", Type: element.String, Doc: "gst-launch description of the source part"},
			{Name: "width", Type: element.Int, Default: 0},
			{Name: "height", Type: element.Int, Default: 0},
			{Name: "format", Type: element.String, Default: "RGB"},
			{Name: "live", Type: element.Bool, Default: false, Doc: "reconnect (relaunch) with backoff on errors and end-of-stream"},
			{Name: "sensor-id", Type: element.String, Default: ""},
			{Name: "sensor-name", Type: element.String, Default: ""},
		},
		New: newGstSource,
	})
}

// source is one decoded stream.
type source struct {
	cfg        *element.Config
	name       string // the uri or description, for errors
	desc       string // the description before the conversion
	format     media.ColorFormat
	w, h       int
	live       bool // paced by the world: never held back (see Live)
	reconnect  bool // reconnect on errors and stalls (live sources, HTTP)
	file       string
	loop       bool
	stall      time.Duration
	noData     time.Duration // non-live sources: the longest wait for a frame
	backoff0   time.Duration
	attempts   int
	ctl        controls // what changes while it runs (runtime.go)
	sensorID   string
	sensorName string
	watch      bool              // follow and report decodebin's video decoder
	cuda       bool              // convert and scale with GStreamer's CUDA elements
	device     bool              // ... and keep frames in CUDA memory (convert=device)
	decoder    gst.DecoderChoice // with watch
	rec        *recorder         // smart-record (record.go); nil when off
	ended      keeper            // the finished pipeline, kept until the run ends (keep.go)
}

func newURISource(c *element.Config) (element.Element, error) {
	s, err := common(c)
	if err != nil {
		return nil, err
	}
	uri := c.String("uri")
	if uri == "" {
		return nil, errors.New(`property "uri" is required`)
	}
	s.name = uri
	if s.decoder, err = decoderChoice(c.String("decoder")); err != nil {
		return nil, err
	}
	s.watch = true
	if c.String("convert") == convertDevice && !c.IsSet("format") {
		s.format = media.NV12 // the decoder's own: nothing to convert
	}
	if s.cuda, s.device, err = convertChoice(c.String("convert"), s.format); err != nil {
		return nil, err
	}
	if err := s.checkDevice(); err != nil {
		return nil, err
	}
	s.loop = c.Bool("file-loop")
	s.stall = time.Duration(c.Int("rtsp-reconnect-interval")) * time.Second
	s.backoff0 = time.Duration(max(c.Int("init-rtsp-reconnect-interval"), 0)) * time.Second
	s.attempts = c.Int("rtsp-reconnect-attempts")
	drop := c.Int("drop-frame-interval")
	if s.noData = c.Duration("no-data-timeout"); s.noData < 0 {
		return nil, fmt.Errorf(`property "no-data-timeout" must not be negative, got %v`, s.noData)
	}
	if drop < 0 || drop > 30 {
		return nil, fmt.Errorf(`property "drop-frame-interval" must be 0..30, got %d`, drop)
	}
	s.ctl.drop.Store(int32(drop))
	switch skip := c.Int("dec-skip-frames"); skip {
	case 0, 1:
	case 2:
		s.ctl.skip = 2
	default:
		return nil, fmt.Errorf(`property "dec-skip-frames" must be 0, 1 or 2, got %d`, skip)
	}
	u, err := deepstream.ParseURI(uri)
	if err == nil {
		err = u.Check()
	}
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case deepstream.File:
		abs, _ := filepath.Abs(u.Path)
		s.desc = fmt.Sprintf("filesrc location=%s ! decodebin", quote(abs))
		s.file = abs
	case deepstream.RTSP:
		protos := map[int]string{1: "udp", 2: "udp-mcast", 4: "tcp", 7: "udp+udp-mcast+tcp"}[c.Int("select-rtp-protocol")]
		if protos == "" {
			return nil, fmt.Errorf(`property "select-rtp-protocol": %d is not 1 (UDP), 2 (multicast), 4 (TCP) or 7 (all)`, c.Int("select-rtp-protocol"))
		}
		s.desc = fmt.Sprintf("rtspsrc location=%s latency=%d protocols=%s ! decodebin", quote(uri), c.Int("latency"), protos)
		s.live, s.reconnect = true, true
	case deepstream.HTTP:
		// HTTP cameras (MJPEG, HLS) drop like RTSP ones and reconnect the
		// same way; a file served over HTTP is not paced by the world, so
		// it is not Live (it keeps back-pressure) and its end ends it.
		s.desc = fmt.Sprintf("souphttpsrc location=%s ! decodebin", quote(uri))
		s.reconnect = true
	default:
		return nil, fmt.Errorf("uri %q: testsrc:// is the testsrc element, not nvurisrcbin", uri)
	}
	if s.loop && s.live {
		return nil, errors.New(`property "file-loop" applies to files, not live streams`)
	}
	if s.rec, err = newRecorder(c, uri); err != nil {
		return nil, err
	}
	if s.rec != nil {
		s.desc = s.rec.tapDescription(s.desc)
	}
	return s, nil
}

func newGstSource(c *element.Config) (element.Element, error) {
	s, err := common(c)
	if err != nil {
		return nil, err
	}
	s.desc = strings.TrimSpace(c.String("description"))
	if s.desc == "" {
		return nil, errors.New(`property "description" is required`)
	}
	s.name = s.desc
	s.live = c.Bool("live")
	s.reconnect = s.live
	s.attempts = -1
	s.backoff0 = time.Second
	return s, nil
}

func common(c *element.Config) (*source, error) {
	s := &source{cfg: c, w: c.Int("width"), h: c.Int("height"), sensorID: c.String("sensor-id"), sensorName: c.String("sensor-name")}
	f, err := media.ParseColorFormat(c.String("format"))
	if err != nil || !f.Raw() {
		return nil, fmt.Errorf(`property "format": %q is not RGB, RGBA, GRAY8, I420 or NV12`, c.String("format"))
	}
	s.format = f
	if s.w < 0 || s.h < 0 || (s.w == 0) != (s.h == 0) {
		return nil, fmt.Errorf("width and height must both be positive or both 0, got %dx%d", s.w, s.h)
	}
	return s, gst.Init()
}

// quote makes a gst-launch string value.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// description is the whole GStreamer pipeline of the source.
func (s *source) description() string {
	caps := "format=" + s.format.String()
	if s.w > 0 {
		caps += fmt.Sprintf(",width=%d,height=%d", s.w, s.h)
	}
	if s.device {
		return s.deviceDescription(caps)
	}
	if s.cuda {
		// cudaupload passes NVDEC's CUDA memory through (and uploads a
		// software decoder's frames); only the converted, scaled frame
		// comes down.
		return fmt.Sprintf("%s ! cudaupload ! cudaconvert ! cudascale ! video/x-raw(memory:CUDAMemory),%s ! cudadownload ! "+
			"video/x-raw,format=%s ! appsink name=vfsink sync=false max-buffers=4", s.desc, caps, s.format)
	}
	if !convElements() {
		return fmt.Sprintf("%s ! videoconvert ! videoscale ! video/x-raw,%s ! appsink name=vfsink sync=false max-buffers=4", s.desc, caps)
	}
	// vfcrop, vfflip and vfscale are the stream's nvvideoconvert for
	// the REST API's conv/* (runtime.go); at their defaults they pass
	// frames through untouched.
	return fmt.Sprintf("%s ! videoconvert ! videocrop name=vfcrop ! videoflip name=vfflip ! videoscale name=vfscale ! "+
		"video/x-raw,%s ! appsink name=vfsink sync=false max-buffers=4", s.desc, caps)
}

// errStalled ends an attempt whose live source stopped delivering.
var errStalled = errors.New("no data")

// Run decodes until the end (files), the context's end, or a failure
// that reconnection does not fix.
func (s *source) Run(ctx context.Context, p element.Ports) error {
	if s.cfg.IsSet("dec-skip-frames") && s.cfg.Int("dec-skip-frames") == 1 {
		p.Warn("%s: dec-skip-frames 1 (skip non-reference frames) has no effect: GStreamer's parsers do not mark non-reference frames; every frame is decoded", s.name)
	}
	st := &runState{source: s, p: p}
	backoff := s.backoff0
	for attempt := 0; ; attempt++ {
		err := st.attempt(ctx)
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case errors.Is(err, errConfig):
			return err
		case errors.Is(err, errDownstream):
			return nil
		case errors.Is(err, io.EOF) && s.loop:
			st.restarted()
			continue
		case errors.Is(err, io.EOF) && !s.live:
			st.checkComplete()
			return nil
		case err == nil:
			return nil
		case !s.reconnect, permanent(err):
			return fmt.Errorf("%s: %w", s.name, err)
		}
		// A live source: reconnect with backoff, unless out of attempts.
		if s.attempts >= 0 && attempt >= s.attempts {
			return fmt.Errorf("%s: %w (gave up after %d reconnection attempts)", s.name, err, s.attempts)
		}
		if st.frames > 0 {
			backoff = s.backoff0 // it worked for a while: start over
		}
		p.Warn("%s: %v. Trying reconnection in %v", s.name, err, backoff)
		p.Reconnected()
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		backoff = min(max(2*backoff, time.Second), 30*time.Second)
		st.restarted()
	}
}

var errDownstream = errors.New("downstream ended")

type runState struct {
	*source
	p      element.Ports
	n      int64         // frames emitted
	offset time.Duration // PTS offset after restarts
	last   time.Duration // PTS of the last frame of this attempt, offset applied
	frames int64         // frames of this attempt
	seen   int64         // frames decoded since drop-frame-interval was last set
	every  int32         // the drop-frame-interval seen counts for
	dec    string        // the decoder reported last
	// What the file announces, asked of the pipeline at its first frame
	// (checkComplete), and a frame's duration.
	announced, frameDur time.Duration
}

// rewind starts a looping file over in the same pipeline, as
// nvurisrcbin's file-loop seeks: a new pipeline per loop (a new decoder,
// its surface pool freed and allocated again) costs 150 looping 1080p
// streams about half a CPU core and stalls the GPU on every pool freed. It
// reports false when the caller should restart instead (no loop, smart
// recording's ring, which follows one pipeline, or a file that does not
// seek).
func (st *runState) rewind(pl *gst.Pipeline) bool {
	if !st.loop || st.rec != nil || st.frames == 0 {
		return false
	}
	if err := pl.Rewind(); err != nil {
		st.p.Warn("%s: %v: restarting the file instead", st.name, err)
		return false
	}
	st.restarted()
	return true
}

func (st *runState) restarted() {
	st.offset = st.last + time.Millisecond
	st.frames = 0
}

// attempt runs one GStreamer pipeline until it ends. A file stream's
// pipeline that reached its end may be kept open until the run ends
// (keep.go).
func (st *runState) attempt(ctx context.Context) (err error) {
	if err := st.checkDeviceMemory(0); err != nil {
		return err
	}
	pl, err := gst.Launch(st.description())
	if err != nil {
		return err
	}
	defer func() {
		if errors.Is(err, io.EOF) && st.keepsFinished(pl) {
			st.ended.keep(pl, keepLimit)
			return
		}
		pl.Close()
	}()
	if err := st.ctl.attach(pl, !st.cuda && !st.device && convElements()); err != nil {
		return err
	}
	defer st.ctl.detach()
	sink, err := pl.AppSink("vfsink")
	if err != nil {
		return err
	}
	if st.watch {
		if _, err := pl.WatchDecoders(st.decoder); err != nil {
			return err
		}
	}
	eos := false
	if st.rec != nil {
		stop, err := st.rec.tap(pl, &eos)
		if err != nil {
			return err
		}
		defer stop()
	}
	if err := pl.Play(); err != nil {
		return st.failed(pl, err)
	}
	lastData := time.Now()
	var first time.Duration = -1
	reported := false
	for {
		smp, err := sink.Pull(200 * time.Millisecond)
		switch {
		case errors.Is(err, gst.ErrTimeout):
			if ctx.Err() != nil {
				return nil
			}
			if st.reconnect && st.stall > 0 && time.Since(lastData) > st.stall {
				return fmt.Errorf("%w since last %v", errStalled, st.stall.Round(time.Second))
			}
			if !st.reconnect && st.noData > 0 && time.Since(lastData) > st.noData {
				// decodebin sometimes swallows a demuxer's error (an MP4
				// without its moov atom) and then waits forever.
				return st.failed(pl, st.noFrame())
			}
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) && st.rewind(pl) {
				first, lastData = -1, time.Now()
				continue
			}
			eos = errors.Is(err, io.EOF)
			return st.failed(pl, err)
		}
		if !reported {
			st.reportDecoder(pl)
			reported = true
			st.announced, st.frameDur = pl.Duration(), smp.Duration
			if err := st.foreignContext(pl); err != nil {
				smp.Release()
				return err
			}
		}
		lastData = time.Now()
		st.ctl.firstFrame()
		if every := st.ctl.drop.Load(); every != st.every {
			st.every, st.seen = every, 0 // a new interval counts from this frame, kept
		}
		st.seen++
		if st.every > 1 && (st.seen-1)%int64(st.every) != 0 {
			smp.Release()
			continue
		}
		raw := smp.PTS
		b, err := st.buffer(smp, &first)
		if err != nil {
			smp.Release()
			return err
		}
		if err := st.ctl.compose(ctx, st.p, b); err != nil { // dest-crop (compose.go)
			b.Release()
			return err
		}
		if st.rec != nil {
			st.rec.frame(raw, st.last)
		}
		if err := st.p.EmitBuffer(b); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return errDownstream
		}
		lastData = time.Now() // time held back by downstream is not the source's
	}
}

// failed returns the error of a pipeline that failed: the decoder
// choice's when it was the cause, else err.
func (st *runState) failed(pl *gst.Pipeline, err error) error {
	if !st.watch || (errors.Is(err, io.EOF) && st.frames > 0) {
		return err
	}
	if derr := st.decoderError(pl.Decoders()); derr != nil {
		return derr
	}
	return err
}

// reportDecoder posts the video decoder decodebin picked, when it is not
// the one reported last.
func (st *runState) reportDecoder(pl *gst.Pipeline) {
	if !st.watch {
		return
	}
	d := pl.Decoders()
	if d.Factory == "" {
		return // raw video (no decoder)
	}
	line := describeDecoder(d)
	if st.device {
		line += ", converted and scaled on the GPU, frames kept in its memory"
	} else if st.cuda {
		line += ", converted and scaled on the GPU (cudaconvert, cudascale)"
	} else {
		line += ", converted and scaled on the CPU"
	}
	if line != st.dec {
		st.dec = line
		st.p.Info("%s: %s", st.name, line)
	}
}

// buffer wraps a sample as a one-frame buffer, without copying.
func (st *runState) buffer(smp *gst.Sample, first *time.Duration) (*media.Buffer, error) {
	f, err := media.ParseColorFormat(smp.Format)
	if err != nil {
		return nil, fmt.Errorf("decoder gave %s frames: %w", smp.Format, err)
	}
	fr, err := frameOf(smp, f)
	if err != nil {
		return nil, err
	}
	s := &fr.Surface
	pts := smp.PTS
	if pts == gst.NoTime {
		pts = time.Duration(st.frames) * 33 * time.Millisecond
	}
	if *first < 0 {
		*first = pts
	}
	pts = pts - *first + st.offset
	fm := &media.FrameMeta{FrameNumber: st.n, PTS: pts, NTPTimestamp: time.Now(),
		SourceWidth: s.Width, SourceHeight: s.Height, Width: s.Width, Height: s.Height,
		SensorID: st.sensorID, SensorName: st.sensorName}
	b := media.NewBatch([]*media.Frame{fr}, &media.BatchMeta{Frames: []*media.FrameMeta{fm}})
	b.SetTimestamp(pts)
	st.n++
	st.frames++
	st.last = pts
	return b, nil
}

// sampleOwner gives a frame's GStreamer sample back when the frame is done.
type sampleOwner struct{ s *gst.Sample }

func (o sampleOwner) ReleaseFrame(*media.Frame) { o.s.Release() }
