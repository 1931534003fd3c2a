package gst

import (
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vidflow/vidflow/media"
)

// discoverErr checks that err is a *DiscoverError with that reason whose
// text names the URI.
func discoverErr(t *testing.T, err error, uri, reason string) {
	t.Helper()
	var de *DiscoverError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *DiscoverError", err, err)
	}
	if de.Reason != reason {
		t.Errorf("reason %q, want %q (%v)", de.Reason, reason, err)
	}
	if !strings.Contains(err.Error(), uri) || !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not name %q and %q", err, uri, reason)
	}
}

func TestDiscoverVtest(t *testing.T) {
	path := mediaFile(t, "vtest.mp4")
	for _, in := range []string{path, fileURI(path)} {
		m, err := Discover(in, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.URI != fileURI(path) {
			t.Errorf("URI %q, want %q", m.URI, fileURI(path))
		}
		if m.Live || !m.Seekable {
			t.Errorf("Live %v, Seekable %v", m.Live, m.Seekable)
		}
		if d := m.Duration - 79500*time.Millisecond; d < -100*time.Millisecond || d > 100*time.Millisecond {
			t.Errorf("Duration %v, want about 79.5 s", m.Duration)
		}
		if len(m.Video) != 1 || len(m.Audio) != 0 {
			t.Fatalf("%d video and %d audio streams, want 1 and 0", len(m.Video), len(m.Audio))
		}
		v := m.Video[0]
		if v.Width != 768 || v.Height != 576 || v.FramerateNum != 10 || v.FramerateDen != 1 || v.Image {
			t.Errorf("video stream %+v", v)
		}
		if !strings.HasPrefix(v.Codec, "H.264") || !strings.HasPrefix(v.Caps, "video/x-h264") {
			t.Errorf("codec %q, caps %q", v.Codec, v.Caps)
		}
		if v.Bitrate == 0 {
			t.Error("no bitrate")
		}
		if n := m.Frames(); n != 795 {
			t.Errorf("Frames() = %d, want 795", n)
		}
	}
}

func TestDiscoverRelativePath(t *testing.T) {
	path := mediaFile(t, "vtest.mp4")
	t.Chdir(filepath.Dir(path))
	m, err := Discover(filepath.Base(path), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.URI != fileURI(path) {
		t.Errorf("URI %q, want the absolute %q", m.URI, fileURI(path))
	}
}

func TestDiscoverMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.mp4")
	_, err := Discover(path, 5*time.Second)
	discoverErr(t, err, fileURI(path), DiscoverNotFound)
}

func TestDiscoverNotMedia(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("not a video\nat all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Discover(path, 5*time.Second)
	discoverErr(t, err, fileURI(path), DiscoverNotMedia)
}

func TestDiscoverMissingPlugin(t *testing.T) {
	_, err := Discover("nosuchscheme42://host/x.mp4", 5*time.Second)
	discoverErr(t, err, "nosuchscheme42://host/x.mp4", DiscoverMissingPlugin)
}

func TestDiscoverJPEG(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(0, 0, color.White)
	path := filepath.Join(t.TempDir(), "still.jpg")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Discover(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Video) != 1 || !m.Video[0].Image || m.Video[0].Width != 64 || m.Video[0].Height != 48 {
		t.Fatalf("JPEG discovered as %+v", m)
	}
	if m.Video[0].Codec != "JPEG" {
		t.Errorf("codec %q, want JPEG", m.Video[0].Codec)
	}
	if n := m.Frames(); n != 1 {
		t.Errorf("Frames() = %d, want 1", n)
	}
}

// A server that accepts and never answers: Discover gives up at its timeout.
func TestDiscoverTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	uri := "rtsp://" + l.Addr().String() + "/silent"
	start := time.Now()
	_, err = Discover(uri, time.Second)
	discoverErr(t, err, uri, DiscoverTimeout)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Discover with a 1 s timeout took %v", d)
	}
}

func TestFramesUnknown(t *testing.T) {
	var nilInfo *media.MediaInfo
	for _, m := range []*media.MediaInfo{nilInfo, {}, {Duration: time.Second},
		{Duration: time.Second, Video: []media.VideoStream{{FramerateNum: 0, FramerateDen: 1}}},
		{Video: []media.VideoStream{{FramerateNum: 30, FramerateDen: 1}}}} {
		if n := m.Frames(); n != 0 {
			t.Errorf("Frames() of %+v = %d, want 0", m, n)
		}
	}
	m := &media.MediaInfo{Duration: 10 * time.Second, Video: []media.VideoStream{{FramerateNum: 30000, FramerateDen: 1001}}}
	if n := m.Frames(); n != 300 {
		t.Errorf("Frames() of 10 s at 29.97 fps = %d, want 300", n)
	}
}

// Discoverers are independent: concurrent calls are fine.
func TestDiscoverConcurrent(t *testing.T) {
	path := mediaFile(t, "vtest.mp4")
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			m, err := Discover(path, 10*time.Second)
			if err == nil && m.Frames() != 795 {
				err = errors.New("wrong frame count")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
