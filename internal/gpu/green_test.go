package gpu

import (
	"bytes"
	"strings"
	"testing"
)

// VIDFLOW_MODEL_SMS is a count of SMs or unset; anything else is an
// error naming it.
func TestModelSMsEnv(t *testing.T) {
	for _, c := range []struct {
		v    string
		want int
		err  bool
	}{{"", 0, false}, {"0", 0, false}, {"16", 16, false}, {"x", 0, true}, {"-4", 0, true}, {"1e9", 0, true}} {
		t.Setenv(ModelSMsEnv, c.v)
		n, err := modelSMs()
		if n != c.want || (err != nil) != c.err || (err != nil && !strings.Contains(err.Error(), ModelSMsEnv)) {
			t.Errorf("%s=%q: %d, %v; want %d, error %v", ModelSMsEnv, c.v, n, err, c.want, c.err)
		}
	}
}

// On a GPU with a CUDA 12.4 driver: work on a green context's stream is
// ordered after the session stream's by an event, and the session
// stream's after it: an upload, a copy on the green stream, a download
// give the bytes back. A second count for the same GPU is refused.
func TestGreenStreamGPU(t *testing.T) {
	if err := Load(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
	green, err := GreenStream(0, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer green.Close()
	if _, err := GreenStream(0, 32); err == nil || !strings.Contains(err.Error(), "asked for 32") {
		t.Errorf("a second count: %v", err)
	}
	main, err := NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	defer main.Close()
	g := &greenModel{sms: 16, stream: green}
	if g.in, err = NewEvent(); err != nil {
		t.Fatal(err)
	}
	defer g.in.Close()
	if g.out, err = NewEvent(); err != nil {
		t.Fatal(err)
	}
	defer g.out.Close()
	const n = 8 << 20
	src, dst := make([]byte, n), make([]byte, n)
	for i := range src {
		src[i] = byte(i*13 + 1)
	}
	a, err := Alloc(0, n)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Free()
	b, err := Alloc(0, n)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free()
	if err := main.Upload(a, 0, src); err != nil {
		t.Fatal(err)
	}
	if err := g.enter(main); err != nil {
		t.Fatal(err)
	}
	if err := green.Copy(b.Ptr, a.Ptr, n); err != nil {
		t.Fatal(err)
	}
	if err := g.leave(main); err != nil {
		t.Fatal(err)
	}
	if err := main.Download(dst, b, 0); err != nil {
		t.Fatal(err)
	}
	if err := main.Sync(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, dst) {
		t.Error("the bytes copied on the green stream came back changed: the events did not order the streams")
	}
}
