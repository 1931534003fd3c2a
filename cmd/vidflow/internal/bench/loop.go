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
// remuxes without decoding: parsebin per pass, concat (timestamps run
// on), parsebin again for mp4mux's caps. (concat's pads in front of each
// of 150 decoders instead made gst-launch fail to preroll on the H200.)
func loopedClip(clip string, passes int64, out string) error {
	desc := []string{"-q", "concat", "name=c", "!", "parsebin", "!", "mp4mux", "!", "filesink", `location="` + out + `"`}
	for range passes {
		desc = append(desc, "filesrc", `location="`+clip+`"`, "!", "parsebin", "!", "c.")
	}
	if msg, err := exec.Command("gst-launch-1.0", desc...).CombinedOutput(); err != nil {
		os.Remove(out)
		return fmt.Errorf("%s remuxed %d times over: %v: %s", clip, passes, err, strings.TrimSpace(string(msg)))
	}
	return nil
}
