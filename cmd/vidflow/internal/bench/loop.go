package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vidflow/vidflow"
)

// runClip is the file a run decodes for clip. With -loop, a run as fast
// as possible decodes clip remuxed over -frames (one file, no seeks) and
// so does its gst-launch floor: both decode the same frames, where a
// looping source's flushing seek at each end of the clip would cost the
// pipeline alone, and stall 150 streams batched in step at once. Real-time
// runs loop the file itself (file-loop), as a camera never ends.
func (b *bench) runClip(clip string) (string, error) {
	if !b.o.loop || b.o.realtime {
		return clip, nil
	}
	if long, ok := b.long[clip]; ok {
		return long, nil
	}
	mi, err := vidflow.Discover(clip)
	if err != nil {
		return "", err
	}
	n := mi.Frames()
	if n == 0 {
		return "", fmt.Errorf("%s: frame count unknown, which -loop needs", clip)
	}
	passes := (int64(b.o.frames) + n - 1) / n
	long := clip
	if passes > 1 {
		if b.tmp == "" {
			if b.tmp, err = os.MkdirTemp("", "vidflow-bench-"); err != nil {
				return "", err
			}
		}
		base := strings.TrimSuffix(filepath.Base(clip), filepath.Ext(clip))
		long = filepath.Join(b.tmp, fmt.Sprintf("%s-x%d.mp4", base, passes))
		if err := loopedClip(clip, passes, long); err != nil {
			return "", err
		}
	}
	if b.long == nil {
		b.long = map[string]string{}
	}
	b.long[clip] = long
	return long, nil
}

// loopedClip writes clip's video passes times over into the MP4 out. It
// remuxes without decoding: splitmuxsrc plays passes links to clip as one
// stream (timestamps run on), parsebin gives mp4mux its caps. (concat's
// request pads, linked by gst-launch as each parsebin's pad appeared,
// raced on the H200's 16 cores: a pad released while linked, and a
// not-linked demuxer.)
func loopedClip(clip string, passes int64, out string) error {
	parts, err := os.MkdirTemp(filepath.Dir(out), "parts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(parts)
	abs, err := filepath.Abs(clip)
	if err != nil {
		return err
	}
	ext := filepath.Ext(clip)
	for i := range passes {
		if err := os.Symlink(abs, filepath.Join(parts, fmt.Sprintf("p%06d%s", i, ext))); err != nil {
			return err
		}
	}
	desc := []string{"-q", "splitmuxsrc", `location="` + filepath.Join(parts, "p*"+ext) + `"`, "!", "parsebin", "!",
		"mp4mux", "!", "filesink", `location="` + out + `"`}
	if msg, err := exec.Command("gst-launch-1.0", desc...).CombinedOutput(); err != nil {
		os.Remove(out)
		return fmt.Errorf("%s remuxed %d times over: %v: %s", clip, passes, err, strings.TrimSpace(string(msg)))
	}
	return nil
}
